/**
 * Driver for proxy targets: a Toxiproxy-compatible API (ours, `chaos proxy`, or a real Toxiproxy).
 * A fault is one toxic named with the run's ownership mark; reverting deletes it by name.
 */
import { environmentRef } from './env-ref.ts';
import { isLoopbackUrl } from './recipes.ts';
import type { ApplyContext, Prepared, RevertRecipe } from './types.ts';

export interface ToxicSpec {
  type: string;
  stream: 'upstream' | 'downstream';
  toxicity: number;
  attributes: Record<string, unknown>;
}

type ProxyRecipe = Extract<RevertRecipe, { driver: 'proxy' }>;

function headers(token: string | undefined): Record<string, string> {
  return { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) };
}

async function call(
  method: string,
  url: string,
  token: string | undefined,
  body?: unknown,
): Promise<Response> {
  try {
    return await fetch(url, {
      method,
      headers: headers(token),
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      signal: AbortSignal.timeout(5_000),
    });
  } catch (err) {
    const cause = (err as { cause?: { code?: string } }).cause?.code ?? (err as Error).message;
    throw new Error(`fault proxy API ${url} is not reachable (${cause})`);
  }
}

/** A toxic named with the run's ownership mark; the recipe (delete by name) is known up front. */
export async function addToxic(ctx: ApplyContext, spec: ToxicSpec): Promise<Prepared> {
  if (ctx.target.kind !== 'proxy') throw new Error(`target ${ctx.targetName} is not a proxy target`);
  const { api, proxy, token } = ctx.target;
  const name = ctx.mark;
  const recipe: ProxyRecipe = {
    driver: 'proxy',
    api,
    proxy,
    toxic: name,
    ...(token ? { token } : {}),
    // A revert from the ledger trusts a non-loopback API only when the environment file names it.
    ...(ctx.environmentFile && !isLoopbackUrl(api)
      ? { environment: environmentRef(ctx.environmentFile, ctx.targetName) }
      : {}),
  };
  const attrs = Object.entries(spec.attributes)
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(' ');
  return {
    recipe,
    description: `toxic ${spec.type} (${attrs}) on proxy ${proxy} at ${api}`,
    manualRevert: manualRevert(recipe),
    apply: async () => {
      const url = `${api}/proxies/${encodeURIComponent(proxy)}/toxics`;
      const res = await call('POST', url, token, {
        name,
        type: spec.type,
        stream: spec.stream,
        toxicity: spec.toxicity,
        attributes: spec.attributes,
        ...(ctx.leaseMs > 0 ? { lease_ms: ctx.leaseMs } : {}),
      });
      if (!res.ok) {
        throw new Error(
          `fault proxy refused toxic ${spec.type} on proxy ${proxy}: HTTP ${res.status} ${await res.text()}`,
        );
      }
      return {};
    },
  };
}

export function manualRevert(r: ProxyRecipe): string {
  const auth = r.token ? ` -H 'Authorization: Bearer ${r.token}'` : '';
  return `curl -X DELETE${auth} ${r.api}/proxies/${encodeURIComponent(r.proxy)}/toxics/${encodeURIComponent(r.toxic)}`;
}

/** Deletes the toxic; a toxic that is already gone counts as reverted (idempotent). */
export async function revertProxy(r: ProxyRecipe): Promise<'reverted' | 'already-gone'> {
  const url = `${r.api}/proxies/${encodeURIComponent(r.proxy)}/toxics/${encodeURIComponent(r.toxic)}`;
  const res = await call('DELETE', url, r.token);
  if (res.status === 204 || res.ok) return 'reverted';
  if (res.status === 404) return 'already-gone';
  throw new Error(`fault proxy answered HTTP ${res.status} to ${url}: ${await res.text()}`);
}

/** Renews a toxic's lease so the proxy keeps it; see docs/proxy.md for the lease mechanics. */
export async function renewProxyLease(r: ProxyRecipe, leaseMs: number): Promise<void> {
  const url = `${r.api}/proxies/${encodeURIComponent(r.proxy)}/toxics/${encodeURIComponent(r.toxic)}/renew`;
  const res = await call('POST', url, r.token, { lease_ms: leaseMs });
  if (!res.ok) throw new Error(`lease renewal for ${r.toxic} failed: HTTP ${res.status}`);
}
