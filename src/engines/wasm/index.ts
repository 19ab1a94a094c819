// The `wasm` engine (the default): memcached's slab allocator, hash table and segmented LRU in
// AssemblyScript, over one preallocated WebAssembly memory. Entry point for -E wasm.

import { Status } from '../../engine/status.ts';
import { ENGINE_INTERFACE_VERSION, type CreateInstance } from '../../engine/types.ts';
import { WasmEngine } from './engine.ts';
import { wasmModule } from './module.ts';

export const createInstance: CreateInstance = (interfaceVersion, getServerApi) => {
  if (interfaceVersion !== ENGINE_INTERFACE_VERSION) return Status.ENOTSUP;
  return new WasmEngine(getServerApi, wasmModule);
};

export { WasmEngine };
