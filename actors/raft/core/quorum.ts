// Majority arithmetic, in one place because commit, elections, check-quorum and ReadIndex all ask the same question:
// "what do a majority of the voters agree on?".
//
// Worked example for committedIndex: voters a, b, c with match indexes 7, 5, 9. Sorted descending: 9, 7, 5. A
// majority is 2 voters, so the 2nd largest value (7) is held by at least a majority: index 7 is committed (if its
// term is the leader's), 9 is not yet.

/** Scratch buffer reused between calls: configurations are small and this runs on every append response. */
let scratch = new Float64Array(16);

/** The largest value that at least a majority of `voters` have reached (`valueOf` gives each voter's value). */
export function majorityValue(voters: readonly string[], valueOf: (id: string) => number): number {
  const n = voters.length;
  if (n === 0) return Number.POSITIVE_INFINITY; // an empty configuration never holds anything back
  if (scratch.length < n) scratch = new Float64Array(n * 2);
  // insertion sort, descending: n is a handful
  for (let i = 0; i < n; i++) {
    const v = valueOf(voters[i]!);
    let j = i;
    while (j > 0 && scratch[j - 1]! < v) {
      scratch[j] = scratch[j - 1]!;
      j--;
    }
    scratch[j] = v;
  }
  return scratch[(n >> 1)]!; // with n voters a majority is floor(n/2)+1; the value at that rank (1-based) is index n>>1
}

export type VoteResult = 'won' | 'lost' | 'pending';

/** Outcome of an election from the answers so far (`votes`: voter -> granted). */
export function voteResult(voters: readonly string[], votes: ReadonlyMap<string, boolean>): VoteResult {
  const n = voters.length;
  if (n === 0) return 'won';
  let granted = 0;
  let rejected = 0;
  for (const id of voters) {
    const v = votes.get(id);
    if (v === true) granted++;
    else if (v === false) rejected++;
  }
  const majority = (n >> 1) + 1;
  if (granted >= majority) return 'won';
  if (n - rejected < majority) return 'lost';
  return 'pending';
}

/** Whether `count` voters out of `n` form a majority. */
export function isMajority(count: number, n: number): boolean {
  return count >= (n >> 1) + 1;
}
