// The WAL actor: a thin shell over the Wal class. It gathers every append of a turn, writes them with one write and at
// most one fdatasync in endOfTurn (group commit), answers each sender once, and preallocates the next segment in
// small background steps between turns so the append path never waits for it.
//
// A disk error is fatal: the handler throws, the actor crashes and the supervisor stops the member. Retrying an
// fdatasync after a failure can report success for data the kernel already dropped, so the WAL never retries.
import type { Disk } from '../../runtime/disk.js';
import { defineActor } from '../../runtime/actor.js';
import type { Timer } from '../../runtime/clock.js';
import { assertNever } from '../../runtime/assert.js';
import { Wal, walDir } from './wal.js';
import { WalUsageError } from './errors.js';
import { walLimits } from './limits.js';
import type { WalActorConfig, WalActorStats, WalBootReply, WalClientProtocol, WalDurable, WalProtocol } from './protocol.js';

export default defineActor<WalProtocol, WalActorConfig>((ctx, config) => {
  let wal: Wal | undefined;
  /** Highest seq appended this turn, per sender. */
  const appended = new Map<string, number>();
  let dirty = false;
  let needSync = false;
  let releaseIndex: number | undefined;
  let turns = 0;
  let durableDeferred = 0;
  /** walDurable messages refused by a full mailbox, latest per receiver (they are cumulative). */
  const deferred = new Map<string, WalDurable>();

  const open = (): Wal => {
    if (!wal) throw new WalUsageError('the wal actor got a message before boot');
    return wal;
  };

  const tellDurable = (to: string, message: WalDurable): void => {
    const ref = ctx.ref<WalClientProtocol>(to);
    if (ref.tell(message)) return;
    durableDeferred++;
    const waiting = deferred.has(to);
    deferred.set(to, message);
    if (waiting) return;
    void ref.whenWritable().then(() => {
      const latest = deferred.get(to);
      deferred.delete(to);
      // whenWritable also resolves when the receiver is gone: then nobody is left to tell
      if (latest && ref.writable()) tellDurable(to, latest);
    });
  };

  // Background preparation of the next segment, one zero-filled chunk per timer turn, its sync on the disk's thread
  // pool so appends never wait for it (one step's sync at a time). Under load one step is taken per
  // wal.preparationPaceBytes appended, so the work is spread evenly between append turns; when appends pause, steps
  // run back to back.
  let stepTimer: Timer | undefined;
  let stepDue = false;
  let appendedSinceStep = 0;
  let bytesWrittenSeen = 0;
  let lastTurnMs = 0;
  const scheduleStep = (): void => {
    if (stepTimer !== undefined || wal === undefined || !wal.needsPreparation || wal.preparing) return;
    const idleForMs = ctx.clock.now() - lastTurnMs;
    const delayMs = stepDue || idleForMs >= walLimits.preparationIdleMs ? 0 : walLimits.preparationIdleMs - idleForMs;
    stepTimer = ctx.clock.setTimer(delayMs, () => {
      stepTimer = undefined;
      if (wal === undefined) return;
      const idle = ctx.clock.now() - lastTurnMs >= walLimits.preparationIdleMs;
      if (stepDue || idle) {
        stepDue = false;
        let started: boolean;
        try {
          started = wal.prepareStepInBackground((error) => {
            if (error) ctx.fail(error);
            else scheduleStep();
          });
        } catch (error) {
          ctx.fail(error);
          return;
        }
        if (started) return;
      }
      scheduleStep();
    });
  };
  const afterTurn = (): void => {
    if (wal === undefined) return;
    lastTurnMs = ctx.clock.now();
    appendedSinceStep += wal.bytesWritten - bytesWrittenSeen;
    bytesWrittenSeen = wal.bytesWritten;
    if (appendedSinceStep >= wal.preparationPaceBytes) {
      appendedSinceStep = 0;
      stepDue = true;
    }
    scheduleStep();
  };

  return {
    receive(message, sender) {
      switch (message.type) {
        case 'boot': {
          if (wal) throw new WalUsageError('the wal was booted twice');
          const opened = Wal.openOrCreate(
            { dir: walDir(config.dataDir), disk: config.unsafeNoFsync ? withoutSync(ctx.disk) : ctx.disk, log: ctx.log, segmentBytes: config.segmentBytes, preallocation: config.preallocation, now: () => ctx.clock.now() },
            config.metadata,
            message.from ? { from: message.from } : {},
          );
          wal = opened.wal;
          bytesWrittenSeen = wal.bytesWritten;
          scheduleStep();
          const { state } = opened;
          return {
            metadata: state.metadata,
            hardState: state.hardState,
            snapshot: state.snapshot,
            entries: state.entries,
            markers: state.markers,
            created: opened.created,
            tornBytesRepaired: state.tornBytesRepaired,
          } satisfies WalBootReply;
        }
        case 'append':
          open().append(message.entries, message.hardState);
          dirty = true;
          if (message.sync) needSync = true;
          appended.set(sender.name, Math.max(appended.get(sender.name) ?? -Infinity, message.seq));
          return;
        case 'snapshotMarker':
          open().snapshotMarker(message.installed ? { term: message.term, index: message.index, confState: message.confState, installed: true } : { term: message.term, index: message.index, confState: message.confState });
          dirty = true;
          needSync = true;
          return;
        case 'release':
          open();
          releaseIndex = Math.max(releaseIndex ?? 0, message.index);
          return;
        case 'stats':
          return { ...open().stats(), turns, durableDeferred } satisfies WalActorStats;
        default:
          return assertNever(message, 'wal message');
      }
    },

    endOfTurn() {
      if (!wal) return;
      if (dirty) {
        const lastIndex = wal.flush(needSync);
        turns++;
        for (const [to, seq] of appended) tellDurable(to, { type: 'walDurable', seq, lastIndex });
        appended.clear();
        dirty = false;
        needSync = false;
      }
      if (releaseIndex !== undefined) {
        wal.release(releaseIndex);
        releaseIndex = undefined;
      }
      afterTurn();
    },

    stop() {
      stepTimer?.cancel();
      stepTimer = undefined;
      wal?.close();
      wal = undefined;
    },
  };
});

/** --unsafe-no-fsync: every write still happens, but nothing waits for the disk (data loss on a crash). */
function withoutSync(disk: Disk): Disk {
  return Object.assign(Object.create(disk) as Disk, {
    fdatasync: () => {},
    fsync: () => {},
    fsyncDir: () => {},
    syncInBackground: (_fd: number, _full: boolean, done: (error: Error | null) => void) => queueMicrotask(() => done(null)),
  });
}
