// Exports of the WASM engine (placeholder while the engine is written).
export function engineVersion(): i32 {
  return 1;
}
