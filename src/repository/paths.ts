// SPDX-License-Identifier: Apache-2.0
// The data directory's layout (`--data DIR`, default ./bulwark-data):
//   config.json   settings; written last by init, so it marks a complete repository
//   bulwark.db    state (embedded default store)
//   root.json     the initial trusted root, for clients to pin
//   keys/         online keys (0600); in demo mode also keys/offline-DEMO-ONLY/
//   public/       the static tree: metadata/ and targets/, servable by any web server or CDN
//   tmp/          uploads in flight (same file system as public/, for atomic renames)
export const DATABASE_FILE = 'bulwark.db';
export const PUBLIC_DIR = 'public';
export const TMP_DIR = 'tmp';
