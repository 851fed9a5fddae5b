// SPDX-License-Identifier: Apache-2.0
// The Python program each isolated build runs (written into the build directory as driver.py and
// started with `python3 -I`, inside the sandbox). It reads SOURCE_DATE_EPOCH from the mtime of
// the sdist's PKG-INFO (so two builders of the same sdist stamp the same times into the wheel),
// records the versions of Python, setuptools, wheel and pip, runs `pip wheel`, and writes
// result.json. Kept as Python because the versions must be those the build itself imports.
export const BUILD_DRIVER = String.raw`
import calendar, importlib.metadata, json, os, subprocess, sys, tarfile, zipfile

sdist = os.environ["BULWARK_SDIST"]
result = {}

def finish(code):
    with open("result.json", "w") as f:
        json.dump(result, f)
    sys.exit(code)

def pkg_info_mtime(path):
    """The mtime of {name}-{version}/PKG-INFO, the sdist's own metadata file."""
    if path.endswith(".zip"):
        with zipfile.ZipFile(path) as z:
            for info in z.infolist():
                parts = info.filename.split("/")
                if len(parts) == 2 and parts[1] == "PKG-INFO":
                    return calendar.timegm(info.date_time + (0, 0, -1))
    else:
        with tarfile.open(path) as t:
            for m in t:
                parts = m.name.split("/")
                if len(parts) == 2 and parts[1] == "PKG-INFO":
                    return int(m.mtime)
    return None

try:
    epoch = pkg_info_mtime(sdist)
except Exception as e:
    result["error"] = "cannot read the sdist: %s" % e
    finish(1)
if epoch is None:
    result["error"] = "the sdist has no top-level PKG-INFO"
    finish(1)
result["source_date_epoch"] = epoch
tools = {"python": "%d.%d.%d" % sys.version_info[:3]}
for name in ("setuptools", "wheel", "pip"):
    try:
        tools[name] = importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        result["error"] = "%s is not installed (apt-get install python3-%s)" % (name, name)
        finish(1)
result["tools"] = tools
print("bulwark build: %s, SOURCE_DATE_EPOCH=%d, tools %s" % (sdist, epoch, json.dumps(tools, sort_keys=True)), flush=True)
env = dict(os.environ, SOURCE_DATE_EPOCH=str(epoch))
cmd = [os.environ.get("BULWARK_PYTHON", sys.executable), "-m", "pip", "wheel", "--no-deps", "--no-index", "--no-build-isolation", "--wheel-dir", "out", sdist]
print("bulwark build: " + " ".join(cmd), flush=True)
code = subprocess.call(cmd, env=env)
if code != 0:
    result["error"] = "pip wheel failed (exit %d): see the log" % code
    finish(1)
wheels = [f for f in os.listdir("out") if f.endswith(".whl")]
if len(wheels) == 1:
    result["wheel"] = wheels[0]
else:
    result["error"] = "pip wheel made %d wheels" % len(wheels)
finish(0 if len(wheels) == 1 else 1)
`;

/**
 * The first program inside the build's namespaces (`sh sandbox.sh HIDDEN… -- COMMAND…`): mounts
 * an empty, unreadable tmpfs over each hidden path (the index's data directory, key
 * directories), so the build cannot read them even where the file modes would let it, then
 * runs the command. In a mount namespace of its own: the mounts vanish with the build.
 */
export const SANDBOX_SCRIPT = `while [ "$1" != "--" ]; do
  mount -t tmpfs -o size=64k,mode=000 bulwark-hidden "$1" || { echo "bulwark build: cannot hide $1" >&2; exit 97; }
  shift
done
shift
exec "$@"
`;
