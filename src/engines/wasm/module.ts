// Finds and compiles the engine's WebAssembly module in Node: build/release.wasm (or debug.wasm)
// beside the bundle, or in build/ when running from source. Compiled once per build, then
// instantiated once per engine instance (each instance has its own memory).

import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type WasmBuild = 'release' | 'debug';

const compiled = new Map<WasmBuild, WebAssembly.Module>();

function locate(build: WasmBuild): string {
  const file = `${build}.wasm`;
  const candidates = [new URL(`./${file}`, import.meta.url), new URL(`../../../build/${file}`, import.meta.url)];
  for (const url of candidates) {
    const path = fileURLToPath(url);
    if (existsSync(path)) return path;
  }
  throw new Error(`cannot find the wasm engine's ${file} (run npm run build)`);
}

export function wasmModule(build: WasmBuild): WebAssembly.Module {
  let module = compiled.get(build);
  if (module === undefined) {
    module = new WebAssembly.Module(readFileSync(locate(build)));
    compiled.set(build, module);
  }
  return module;
}
