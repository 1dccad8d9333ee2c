/**
 * A minimal, escaping HTML template: `html\`<td>${value}</td>\`` escapes every interpolated value (merchant text is
 * hostile: titles, ids and categories come from the manifest) unless it is already SafeHtml — the output of another
 * `html` template or of `raw()` for markup this module's own code builds. Arrays are joined, null and undefined are
 * empty. Attributes must be double-quoted in the templates; escaping covers `"` and `'` so a value cannot leave one.
 */

export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

const ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: unknown): string {
  return String(value).replace(/[&<>"']/g, (char) => ENTITIES[char]!);
}

function render(value: unknown): string {
  if (value === null || value === undefined || value === false) return '';
  if (value instanceof SafeHtml) return value.value;
  if (Array.isArray(value)) return value.map(render).join('');
  return escapeHtml(value);
}

export function html(strings: TemplateStringsArray, ...values: unknown[]): SafeHtml {
  let out = strings[0]!;
  values.forEach((value, index) => {
    out += render(value) + strings[index + 1]!;
  });
  return new SafeHtml(out);
}

/** Trusted markup (never data): numbers formatted by this module, fixed fragments. */
export function raw(markup: string): SafeHtml {
  return new SafeHtml(markup);
}
