// Record bytes as a person reads them: text, JSON pretty-printed, or hex. The console fetches keys,
// values and headers as base64 so every byte arrives intact, whatever the format shown.

export type Format = 'text' | 'json' | 'hex';

/** Bytes shown of one value in hex before it is cut (a record may be megabytes). */
export const HEX_BYTES_SHOWN_MAX = 4096;

export function fromBase64(b64: string): Uint8Array {
  const bin = atob(b64);
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export function render(b64: unknown, format: Format): string {
  if (b64 === null || b64 === undefined) return 'null';
  const data = fromBase64(String(b64));
  if (format === 'hex') {
    const shown = data.subarray(0, HEX_BYTES_SHOWN_MAX);
    const hex = Array.from(shown, (b) => b.toString(16).padStart(2, '0')).join(' ');
    return data.length > shown.length ? `${hex} … (${data.length} bytes)` : hex;
  }
  const text = utf8.decode(data);
  if (format === 'json') {
    try {
      return JSON.stringify(JSON.parse(text), null, 2);
    } catch {
      return `${text}\n(not JSON)`;
    }
  }
  return text;
}
