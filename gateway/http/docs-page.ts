/**
 * The OpenAPI document as one accessible HTML page, rendered on the server: no script at all (so
 * the strictest CSP holds), landmarks, one heading level at a time, a table of contents, native
 * <details> to fold each operation, text that meets WCAG AA contrast (docs.css). It replaces
 * Swagger UI, whose page had critical and serious axe violations (an unlabelled URL field, an
 * image without text, buttons nested in buttons, low-contrast text) that theming cannot fix.
 */

interface Schema {
  readonly type?: string | readonly string[];
  readonly format?: string;
  readonly description?: string;
  readonly enum?: readonly unknown[];
  readonly const?: unknown;
  readonly nullable?: boolean;
  readonly properties?: Readonly<Record<string, Schema>>;
  readonly required?: readonly string[];
  readonly items?: Schema;
  readonly anyOf?: readonly Schema[];
  readonly oneOf?: readonly Schema[];
  readonly allOf?: readonly Schema[];
  readonly $ref?: string;
  readonly minimum?: number;
  readonly maximum?: number;
  readonly minLength?: number;
  readonly maxLength?: number;
  readonly pattern?: string;
  readonly default?: unknown;
}

interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly security?: readonly Readonly<Record<string, readonly string[]>>[];
  readonly parameters?: readonly { readonly name: string; readonly in: string; readonly required?: boolean; readonly description?: string; readonly schema?: Schema }[];
  readonly requestBody?: { readonly content?: Readonly<Record<string, { readonly schema?: Schema }>> };
  readonly responses?: Readonly<Record<string, { readonly description?: string; readonly content?: Readonly<Record<string, { readonly schema?: Schema }>> }>>;
}

export interface OpenApiDocument {
  readonly info?: { readonly title?: string; readonly version?: string; readonly description?: string };
  readonly components?: { readonly securitySchemes?: Readonly<Record<string, { readonly description?: string }>> };
  readonly paths?: Readonly<Record<string, Readonly<Record<string, Operation>>>>;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete', 'head', 'options'] as const;
const MAX_DEPTH = 6;

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

const slug = (text: string): string => text.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');

/** JSON Schema's generated integer bounds (±2^53-1) say nothing to a reader. */
const meaningful = (n: number | undefined): n is number => n !== undefined && Math.abs(n) < Number.MAX_SAFE_INTEGER;

function typeOf(s: Schema): string {
  if (s.$ref !== undefined) return s.$ref.split('/').pop() ?? 'object';
  if (s.const !== undefined) return `constant ${JSON.stringify(s.const)}`;
  if (s.enum !== undefined) return `one of ${s.enum.map((v) => JSON.stringify(v)).join(', ')}`;
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives !== undefined) return alternatives.map(typeOf).join(' or ');
  if (s.allOf !== undefined) return s.allOf.map(typeOf).join(' and ');
  const t = Array.isArray(s.type) ? s.type.join(' or ') : ((s.type as string | undefined) ?? 'any');
  const base = t === 'array' ? `array of ${s.items === undefined ? 'any' : typeOf(s.items)}` : t;
  return `${base}${s.format === undefined ? '' : ` (${s.format})`}${s.nullable === true ? ', or null' : ''}`;
}

function constraints(s: Schema): string {
  const out: string[] = [];
  if (meaningful(s.minimum)) out.push(`≥ ${s.minimum}`);
  if (meaningful(s.maximum)) out.push(`≤ ${s.maximum}`);
  if (s.minLength !== undefined && s.minLength > 0) out.push(`at least ${s.minLength} characters`);
  if (s.maxLength !== undefined) out.push(`at most ${s.maxLength} characters`);
  if (s.pattern !== undefined) out.push(`pattern ${s.pattern}`);
  if (s.default !== undefined) out.push(`default ${JSON.stringify(s.default)}`);
  return out.join('; ');
}

/** A schema: its type and description, then its fields (nested objects as nested lists). */
function schemaHtml(s: Schema | undefined): string {
  if (s === undefined) return '<p>No schema.</p>';
  return `<p><span class="type">${escapeHtml(typeOf(s))}</span>${s.description === undefined ? '' : ` — ${escapeHtml(s.description)}`}</p>${fieldList(s, 0)}`;
}

/** The fields of an object (or of an array's items), or nothing. */
function fieldList(s: Schema, depth: number): string {
  const props = s.properties ?? (s.type === 'array' ? s.items?.properties : undefined);
  if (props === undefined || Object.keys(props).length === 0 || depth >= MAX_DEPTH) return '';
  const required = new Set(s.properties !== undefined ? (s.required ?? []) : (s.items?.required ?? []));
  const items = Object.entries(props)
    .map(([name, p]) => {
      const c = constraints(p);
      return (
        `<li><code>${escapeHtml(name)}</code> <span class="type">${escapeHtml(typeOf(p))}</span>` +
        `${required.has(name) ? ' <span class="required">required</span>' : ''}` +
        `${p.description === undefined ? '' : ` — ${escapeHtml(p.description)}`}${c === '' ? '' : ` <span class="constraints">(${escapeHtml(c)})</span>`}${fieldList(p, depth + 1)}</li>`
      );
    })
    .join('');
  return `<ul class="fields">${items}</ul>`;
}

function operationHtml(method: string, path: string, op: Operation, schemes: Readonly<Record<string, { readonly description?: string }>>): string {
  const id = `op-${method}-${slug(path)}`;
  const auth = (op.security ?? []).flatMap((req) => Object.keys(req)).map((name) => `${name}${schemes[name]?.description === undefined ? '' : ` (${schemes[name]?.description})`}`);
  const params = (op.parameters ?? [])
    .map((p) => {
      const c = p.schema === undefined ? '' : constraints(p.schema);
      return `<tr><th scope="row"><code>${escapeHtml(p.name)}</code></th><td>${escapeHtml(p.in)}</td><td>${escapeHtml(p.schema === undefined ? 'any' : typeOf(p.schema))}${c === '' ? '' : ` (${escapeHtml(c)})`}</td><td>${p.required === true ? 'yes' : 'no'}</td><td>${escapeHtml(p.description ?? p.schema?.description ?? '')}</td></tr>`;
    })
    .join('');
  const body = op.requestBody?.content;
  const responses = Object.entries(op.responses ?? {})
    .map(([status, r]) => {
      const content = r.content === undefined ? undefined : Object.entries(r.content)[0];
      return `<dt>${escapeHtml(status)}${content === undefined ? '' : ` <span class="media">${escapeHtml(content[0])}</span>`}</dt><dd>${r.description === undefined || r.description === 'Default Response' ? '' : `<p>${escapeHtml(r.description)}</p>`}${content === undefined ? '' : schemaHtml(content[1].schema)}</dd>`;
    })
    .join('');
  return (
    `<section class="operation" aria-labelledby="${id}">` +
    `<h3 id="${id}"><span class="method method-${method}">${method.toUpperCase()}</span> <code class="path">${escapeHtml(path)}</code></h3>` +
    `${op.summary === undefined ? '' : `<p class="summary">${escapeHtml(op.summary)}</p>`}` +
    `<details><summary>Details of ${method.toUpperCase()} ${escapeHtml(path)}</summary>` +
    `${op.description === undefined ? '' : `<p>${escapeHtml(op.description)}</p>`}` +
    `<p><strong>Authentication:</strong> ${auth.length === 0 ? 'none' : escapeHtml(auth.join(', or '))}</p>` +
    `${params === '' ? '' : `<table><caption>Parameters</caption><thead><tr><th scope="col">name</th><th scope="col">in</th><th scope="col">type</th><th scope="col">required</th><th scope="col">meaning</th></tr></thead><tbody>${params}</tbody></table>`}` +
    `${body === undefined ? '' : Object.entries(body).map(([media, c]) => `<h4>Request body <span class="media">${escapeHtml(media)}</span></h4>${schemaHtml(c.schema)}`).join('')}` +
    `${responses === '' ? '' : `<h4>Responses</h4><dl class="responses">${responses}</dl>`}` +
    `</details></section>`
  );
}

/** The whole page. `cssHref` is the stylesheet's URL (served beside it, so the CSP needs no inline style). */
export function renderDocsPage(doc: OpenApiDocument, cssHref: string, jsonHref: string): string {
  const byTag = new Map<string, { method: string; path: string; op: Operation }[]>();
  for (const [path, ops] of Object.entries(doc.paths ?? {})) {
    for (const method of METHODS) {
      const op = ops[method];
      if (op === undefined) continue;
      const tag = op.tags?.[0] ?? 'other';
      let list = byTag.get(tag);
      if (list === undefined) byTag.set(tag, (list = []));
      list.push({ method, path, op });
    }
  }
  const tags = [...byTag.keys()].sort();
  const schemes = doc.components?.securitySchemes ?? {};
  const title = doc.info?.title ?? 'API';
  const toc = tags.map((t) => `<li><a href="#tag-${slug(t)}">${escapeHtml(t)}</a> (${byTag.get(t)?.length ?? 0})</li>`).join('');
  const sections = tags
    .map((t) => `<section aria-labelledby="tag-${slug(t)}"><h2 id="tag-${slug(t)}">${escapeHtml(t)}</h2>${(byTag.get(t) ?? []).map((o) => operationHtml(o.method, o.path, o.op, schemes)).join('')}</section>`)
    .join('');
  return (
    '<!doctype html><html lang="en"><head><meta charset="utf-8">' +
    '<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:,">' +
    `<title>${escapeHtml(title)}</title><link rel="stylesheet" href="${escapeHtml(cssHref)}"></head><body>` +
    '<a class="skip-link" href="#main">Skip to the operations</a>' +
    `<header><h1>${escapeHtml(title)} <span class="version">${escapeHtml(doc.info?.version ?? '')}</span></h1>` +
    `${doc.info?.description === undefined ? '' : `<p>${escapeHtml(doc.info.description)}</p>`}` +
    `<p>The same as OpenAPI 3 JSON: <a href="${escapeHtml(jsonHref)}">${escapeHtml(jsonHref)}</a> (import it into any OpenAPI client to try requests).</p></header>` +
    `<nav aria-label="Operations by tag"><h2>Contents</h2><ul>${toc}</ul></nav>` +
    `<main id="main" tabindex="-1">${sections}</main></body></html>`
  );
}

export const DOCS_CSS = `
:root { color-scheme: light; --ink: #1b1b1b; --muted: #4a4a4a; --link: #0b4f9c; --line: #c8c8c8; }
* { box-sizing: border-box; }
body { margin: 0 auto; max-width: 70rem; padding: 1rem 1.5rem 4rem; font: 16px/1.5 system-ui, sans-serif; color: var(--ink); background: #fff; }
a { color: var(--link); }
a:focus, summary:focus, main:focus { outline: 3px solid #1a5fb4; outline-offset: 2px; }
.skip-link { position: absolute; left: -999px; }
.skip-link:focus { left: 1rem; top: 1rem; background: #fff; padding: 0.3rem 0.6rem; }
h1 { font-size: 1.7rem; } h2 { font-size: 1.35rem; border-bottom: 1px solid var(--line); margin-top: 2rem; } h3 { font-size: 1.05rem; margin: 1.2rem 0 0.2rem; } h4 { font-size: 1rem; margin: 0.8rem 0 0.2rem; }
.version { font-size: 1rem; color: var(--muted); font-weight: normal; }
nav ul { columns: 3 12rem; padding-left: 1.2rem; }
.operation { border-left: 4px solid var(--line); padding: 0.1rem 0 0.4rem 0.8rem; margin: 0.8rem 0; }
.method { display: inline-block; min-width: 4.2rem; padding: 0 0.35rem; border-radius: 3px; color: #fff; font: 700 0.85rem/1.6 ui-monospace, monospace; text-align: center; }
.method-get { background: #0b5394; } .method-post { background: #1e6b2f; } .method-put { background: #7a4b00; } .method-patch { background: #5c2d91; } .method-delete { background: #a11b1b; } .method-head, .method-options { background: #444; }
.path, code { font-family: ui-monospace, monospace; }
.summary { margin: 0.2rem 0; }
summary { cursor: pointer; color: var(--link); }
.type, .media, .constraints { color: var(--muted); }
.required { font-weight: 700; }
table { border-collapse: collapse; margin: 0.5rem 0; } caption { text-align: left; font-weight: 700; }
th, td { border: 1px solid var(--line); padding: 0.2rem 0.5rem; text-align: left; vertical-align: top; }
ul.fields { margin: 0.2rem 0; }
dl.responses dt { font-weight: 700; margin-top: 0.4rem; }
`;
