/**
 * How chaoskit's own network rules are recognised: the iptables command it runs and the root
 * qdisc handle derived from a fault's mark. Kept apart from netns.ts (and its Docker client) so
 * that reading the ledger stays light.
 */
export const IPTABLES = ['iptables', '-w', '5'];

/** The root qdisc handle owned by a fault: `c` + 3 hex digits from the mark (0xc000–0xcfff). */
export function qdiscHandle(mark: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < mark.length; i++) h = Math.imul(h ^ mark.charCodeAt(i), 0x01000193) >>> 0;
  return `c${(h & 0xfff).toString(16).padStart(3, '0')}:`;
}
