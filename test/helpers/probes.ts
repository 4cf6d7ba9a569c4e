// Polling probes for tests of real members: wait until something holds, and find the one leader of a cluster.
import type { Member } from './tetcd.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `probe` every 100 ms until it returns a value (errors count as "not yet"); throws after `timeoutMs`. */
export async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined) return value;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

export interface MemberStatus {
  leader?: string;
  raftTerm?: string;
  header: { member_id: string };
}

export async function status(m: Member, timeoutMs = 2_000): Promise<MemberStatus> {
  return (await m.call<MemberStatus>('/v3/maintenance/status', {}, timeoutMs)).body;
}

/** The member every one of `members` names as leader, once they agree. */
export async function leaderAmong(members: Member[], timeoutMs = 20_000): Promise<Member> {
  return until(
    'one leader',
    async () => {
      const views = await Promise.all(members.map((m) => status(m)));
      const leaders = new Set(views.map((v) => v.leader));
      if (leaders.size !== 1 || !views[0]!.leader) return undefined;
      return members.find((_, i) => views[i]!.header.member_id === views[0]!.leader);
    },
    timeoutMs,
  );
}
