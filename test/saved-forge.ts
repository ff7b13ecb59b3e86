// Rewrites a saved quantized model's tensors or records with valid checksums, so that a test
// reaches the format readers' own checks (a damaged file stops at the checksums first).

import { writeSafetensors, type SafeTensor } from '../src/index.js';
import { sha256Hex } from '../src/model/fingerprint.js';
import { metadataChecksum } from '../src/model/saved.js';

export function forge(tensors: Map<string, SafeTensor>, metadata: Record<string, string>, records?: Record<string, unknown>, extra: Record<string, string> = {}): Uint8Array {
  const recs = structuredClone(records ?? JSON.parse(metadata.layers)) as Record<string, { sha256?: Record<string, string> }>;
  for (const [name, t] of tensors) {
    const [key, part] = [name.slice(0, name.lastIndexOf('/')), name.slice(name.lastIndexOf('/') + 1)];
    const r = recs[key];
    if (r && typeof r === 'object') r.sha256 = { ...r.sha256, [part]: sha256Hex(t.data) };
  }
  const m: Record<string, string> = { ...metadata, layers: JSON.stringify(recs), ...extra };
  return writeSafetensors(tensors, { ...m, sha256: metadataChecksum(m) });
}

