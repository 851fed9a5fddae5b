// SPDX-License-Identifier: Apache-2.0
// A tiny repository written by python-tuf (indented JSON, real Ed25519 signatures), as published in
// theupdateframework/tuf-js repository_data/empty_target_repo/metadata. Everything expires at
// 2023-02-08T20:45:27Z, so tests pass a reference time before that. Its key ids were computed by
// securesystemslib with the legacy keyid_hash_algorithms field, so they are not the hash of the
// keys as listed: clients use key ids as given and never recompute them.

export const PYTHON_TUF_NOW = new Date('2023-01-01T00:00:00Z');

export const ROOT_1 = `{
 "signatures": [
  {
   "keyid": "82adeacc2a780758dc04370c4ea456d419bfc9d38c90c9b46ffc157e21ecba37",
   "sig": "0fafec92835b772a00682895a16796e5fd48f19df8aa1b0cce3c492ac89954293596e802a9ed9f0c919e3adbfa75018ea84a11e1a49c8d2cb137f84cf1a29d07"
  }
 ],
 "signed": {
  "_type": "root",
  "consistent_snapshot": true,
  "expires": "2023-02-08T20:45:27Z",
  "keys": {
   "2675485630597b75268b74f7d8d015c7d053922750b8dc4d59c65d4a6b56f980": {
    "keytype": "ed25519",
    "keyval": {
     "public": "a7aad2445194325175dd4d5b727298788ef33ef87d8c7d7301439bb56cf76404"
    },
    "scheme": "ed25519"
   },
   "34225f1f199ac1496c3362ee79f57228f5c32f7e07c0d0e7c2bd76d7132f73e4": {
    "keytype": "ed25519",
    "keyval": {
     "public": "9f95bcc0ffe758c26c5288af8b7868d038bd3179b99e800fba7fa05cd480837f"
    },
    "scheme": "ed25519"
   },
   "82adeacc2a780758dc04370c4ea456d419bfc9d38c90c9b46ffc157e21ecba37": {
    "keytype": "ed25519",
    "keyval": {
     "public": "f2613aee04b180a8996d5a3a8e4f752a880766416cc6dad3b1cb847f37ca26be"
    },
    "scheme": "ed25519"
   },
   "f0ddc97b4c678a7beb31f9db2434608a5662fcd6a7fe70399707b79ddc27e71b": {
    "keytype": "ed25519",
    "keyval": {
     "public": "86b4dc3b7a3db2534c12dc02e69f9025fb77cb40e611b6c2d7b6d22c2951ccbe"
    },
    "scheme": "ed25519"
   }
  },
  "roles": {
   "root": {
    "keyids": [
     "82adeacc2a780758dc04370c4ea456d419bfc9d38c90c9b46ffc157e21ecba37"
    ],
    "threshold": 1
   },
   "snapshot": {
    "keyids": [
     "2675485630597b75268b74f7d8d015c7d053922750b8dc4d59c65d4a6b56f980"
    ],
    "threshold": 1
   },
   "targets": {
    "keyids": [
     "34225f1f199ac1496c3362ee79f57228f5c32f7e07c0d0e7c2bd76d7132f73e4"
    ],
    "threshold": 1
   },
   "timestamp": {
    "keyids": [
     "f0ddc97b4c678a7beb31f9db2434608a5662fcd6a7fe70399707b79ddc27e71b"
    ],
    "threshold": 1
   }
  },
  "spec_version": "1.0.31",
  "version": 1
 }
}`;

export const ROOT_2 = `{
 "signatures": [
  {
   "keyid": "82adeacc2a780758dc04370c4ea456d419bfc9d38c90c9b46ffc157e21ecba37",
   "sig": "6c3e2c68af0cfa0f766d81d28e92a001a7e623de6d7f2df91c627eae1e2146ea5ea3970ef980100ff95e02845913736d47309238a4276b1e2cb37edf9a079001"
  }
 ],
 "signed": {
  "_type": "root",
  "consistent_snapshot": false,
  "expires": "2023-02-08T20:45:27Z",
  "keys": {
   "2675485630597b75268b74f7d8d015c7d053922750b8dc4d59c65d4a6b56f980": {
    "keytype": "ed25519",
    "keyval": {
     "public": "a7aad2445194325175dd4d5b727298788ef33ef87d8c7d7301439bb56cf76404"
    },
    "scheme": "ed25519"
   },
   "34225f1f199ac1496c3362ee79f57228f5c32f7e07c0d0e7c2bd76d7132f73e4": {
    "keytype": "ed25519",
    "keyval": {
     "public": "9f95bcc0ffe758c26c5288af8b7868d038bd3179b99e800fba7fa05cd480837f"
    },
    "scheme": "ed25519"
   },
   "82adeacc2a780758dc04370c4ea456d419bfc9d38c90c9b46ffc157e21ecba37": {
    "keytype": "ed25519",
    "keyval": {
     "public": "f2613aee04b180a8996d5a3a8e4f752a880766416cc6dad3b1cb847f37ca26be"
    },
    "scheme": "ed25519"
   },
   "f0ddc97b4c678a7beb31f9db2434608a5662fcd6a7fe70399707b79ddc27e71b": {
    "keytype": "ed25519",
    "keyval": {
     "public": "86b4dc3b7a3db2534c12dc02e69f9025fb77cb40e611b6c2d7b6d22c2951ccbe"
    },
    "scheme": "ed25519"
   }
  },
  "roles": {
   "root": {
    "keyids": [
     "82adeacc2a780758dc04370c4ea456d419bfc9d38c90c9b46ffc157e21ecba37"
    ],
    "threshold": 1
   },
   "snapshot": {
    "keyids": [
     "2675485630597b75268b74f7d8d015c7d053922750b8dc4d59c65d4a6b56f980"
    ],
    "threshold": 1
   },
   "targets": {
    "keyids": [
     "34225f1f199ac1496c3362ee79f57228f5c32f7e07c0d0e7c2bd76d7132f73e4"
    ],
    "threshold": 1
   },
   "timestamp": {
    "keyids": [
     "f0ddc97b4c678a7beb31f9db2434608a5662fcd6a7fe70399707b79ddc27e71b"
    ],
    "threshold": 1
   }
  },
  "spec_version": "1.0.31",
  "version": 2
 }
}`;

export const TIMESTAMP = `{
 "signatures": [
  {
   "keyid": "f0ddc97b4c678a7beb31f9db2434608a5662fcd6a7fe70399707b79ddc27e71b",
   "sig": "496134c3d9c60e8372043160166f69dc5e04b0b280ad6157eb766854559ab74bae817066982b886cf97e63cf16898f93213d00e7b91d21a5ba594cfe41133800"
  }
 ],
 "signed": {
  "_type": "timestamp",
  "expires": "2023-02-08T20:45:27Z",
  "meta": {
   "snapshot.json": {
    "version": 1
   }
  },
  "spec_version": "1.0.31",
  "version": 1
 }
}`;

export const SNAPSHOT = `{
 "signatures": [
  {
   "keyid": "2675485630597b75268b74f7d8d015c7d053922750b8dc4d59c65d4a6b56f980",
   "sig": "e189869d2d3623ab7ad254fcab0fccd904f189f198a756c776d89d3629f8eabdbef49bf00016a269825a3bf3a390cfbf3d8beeac39ac474da862e5f5643ad800"
  }
 ],
 "signed": {
  "_type": "snapshot",
  "expires": "2023-02-08T20:45:27Z",
  "meta": {
   "targets.json": {
    "version": 1
   }
  },
  "spec_version": "1.0.31",
  "version": 1
 }
}`;

export const TARGETS = `{
 "signatures": [
  {
   "keyid": "34225f1f199ac1496c3362ee79f57228f5c32f7e07c0d0e7c2bd76d7132f73e4",
   "sig": "23b2fd14e02a979e80109e37569a2715a13dbf31c5ae26af1934478e54795a2bf648ec0c306d3da2e8cd60ef40570c4423449e2853e112c7f70bd851e06e5d0e"
  }
 ],
 "signed": {
  "_type": "targets",
  "expires": "2023-02-08T20:45:27Z",
  "spec_version": "1.0.31",
  "targets": {},
  "version": 1
 }
}`;
