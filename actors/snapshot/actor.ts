// The snapshot actor: a thin shell over SnapshotStore. It assembles snapshot files from chunk messages, loads the
// newest valid one, and streams one back to a requester within a window of chunks the requester keeps open with
// credits. A failed write is reported on its commit, a failed read to its reader; neither stops the actor.
import * as path from 'node:path';
import { defineActor, type ActorRef, type AnyProtocol } from '../../runtime/actor.js';
import { assertNever } from '../../runtime/assert.js';
import { describe } from '../../runtime/errors.js';
import { verifySnapshotFile, type SnapshotWriter, type SnapshotReader } from './file.js';
import { snapshotFileName } from './format.js';
import { SnapshotCorruptError, SnapshotUsageError } from './errors.js';
import { snapshotLimits } from './limits.js';
import { SnapshotStore, snapDir } from './store.js';
import type { SnapshotActorConfig, SnapshotProtocol, SnapshotReaderProtocol, SnapshotStreamEvent, SnapshotWriteProgress } from './protocol.js';

interface OpenWrite {
  writer: SnapshotWriter | undefined;
  /** Set once a step failed: later chunks are ignored and commit rejects with it. */
  failure: string | undefined;
}

interface OpenRead {
  readId: number;
  reader: SnapshotReader;
  to: ActorRef<SnapshotReaderProtocol>;
  window: number;
  /** Chunks sent and not yet credited back. 0 <= outstanding <= window. */
  outstanding: number;
  seq: number;
  /** A chunk the requester's mailbox refused; sent first once it has room. */
  held: SnapshotStreamEvent | undefined;
  waiting: boolean;
}

export default defineActor<SnapshotProtocol, SnapshotActorConfig>((ctx, config) => {
  const store = new SnapshotStore({ dir: snapDir(config.dataDir), disk: ctx.disk, log: ctx.log, keep: config.keep });
  const writes = new Map<string, OpenWrite>();
  const reads = new Map<string, OpenRead>();

  const endRead = (key: string, read: OpenRead): void => {
    read.reader.close();
    reads.delete(key);
  };

  const failRead = (key: string, read: OpenRead, error: unknown): void => {
    endRead(key, read);
    const corrupt = error instanceof SnapshotCorruptError ? error : undefined;
    ctx.log.error('snapshot read failed', { readId: read.readId, to: read.to.name, error: describe(error) });
    read.to.tell({ type: 'snapshotReadFailed', readId: read.readId, error: describe(error), file: corrupt?.file ?? null, offset: corrupt?.offset ?? null });
  };

  /** Sends chunks while the window allows; stops at a full mailbox and resumes when it has room. */
  const pump = (key: string, read: OpenRead): void => {
    if (read.waiting || reads.get(key) !== read) return;
    for (;;) {
      if (read.held) {
        if (!read.to.tell(read.held)) {
          read.waiting = true;
          void read.to.whenWritable().then(() => {
            read.waiting = false;
            // whenWritable also resolves when the reader is gone: then there is nobody left to stream to
            if (!read.to.writable()) endRead(key, read);
            else pump(key, read);
          });
          return;
        }
        const sent = read.held;
        read.held = undefined;
        if (sent.type === 'snapshotEnd') {
          endRead(key, read);
          return;
        }
      }
      if (read.outstanding >= read.window) return;
      let bytes: Uint8Array | undefined;
      try {
        bytes = read.reader.next();
      } catch (error) {
        failRead(key, read, error);
        return;
      }
      if (bytes === undefined) {
        const { chunks, imageBytes } = read.reader.progress;
        read.held = { type: 'snapshotEnd', readId: read.readId, chunks, imageBytes, metadata: read.reader.metadata };
        continue;
      }
      read.held = { type: 'snapshotChunk', readId: read.readId, seq: read.seq++, bytes };
      read.outstanding++;
    }
  };

  return {
    receive(message, sender, isAsk) {
      const key = (id: number) => `${sender.name}:${id}`;
      switch (message.type) {
        case 'begin': {
          const k = key(message.writeId);
          if (writes.has(k)) {
            writes.get(k)!.failure ??= `write ${message.writeId} was begun twice`;
            return;
          }
          const write: OpenWrite = { writer: undefined, failure: undefined };
          writes.set(k, write);
          if (writes.size > snapshotLimits.openWritesMax) {
            write.failure = `more than ${snapshotLimits.openWritesMax} snapshot writes are open`;
            return;
          }
          try {
            write.writer = store.create(message.metadata);
          } catch (error) {
            write.failure = describe(error);
          }
          return;
        }
        case 'chunk': {
          const write = writes.get(key(message.writeId));
          if (!write) {
            if (isAsk) throw new SnapshotUsageError(`no open snapshot write ${message.writeId}`);
            return;
          }
          if (write.failure === undefined && write.writer) {
            try {
              write.writer.write(message.bytes);
            } catch (error) {
              write.failure = describe(error);
              write.writer.abort();
            }
          }
          if (!isAsk) return;
          if (write.failure !== undefined) throw new SnapshotUsageError(write.failure);
          return { writeId: message.writeId, chunks: write.writer!.chunks, bytes: write.writer!.bytes } satisfies SnapshotWriteProgress;
        }
        case 'commit': {
          const k = key(message.writeId);
          const write = writes.get(k);
          writes.delete(k);
          if (!write) throw new SnapshotUsageError(`no open snapshot write ${message.writeId}`);
          if (write.failure !== undefined || !write.writer) {
            write.writer?.abort();
            throw new SnapshotUsageError(`snapshot write ${message.writeId} failed: ${write.failure ?? 'not begun'}`);
          }
          const committed = write.writer.commit();
          ctx.log.info('saved snapshot', { file: committed.name, bytes: committed.bytes });
          return committed;
        }
        case 'abort': {
          const k = key(message.writeId);
          writes.get(k)?.writer?.abort();
          writes.delete(k);
          return;
        }
        case 'loadNewest': {
          const acceptable = message.acceptable;
          const loaded = store.loadNewest(acceptable ? (m) => acceptable.some((a) => a.term === m.term && a.index === m.index) : undefined);
          return { newest: loaded.newest ?? null, damaged: loaded.damaged };
        }
        case 'read': {
          const k = key(message.readId);
          const to = ctx.ref<SnapshotReaderProtocol>(sender.name);
          const refuse = (error: string) => to.tell({ type: 'snapshotReadFailed', readId: message.readId, error, file: null, offset: null });
          if (reads.has(k)) {
            refuse(`read ${message.readId} is already open`);
            return;
          }
          if (reads.size >= snapshotLimits.openReadsMax) {
            refuse(`more than ${snapshotLimits.openReadsMax} snapshot reads are open`);
            return;
          }
          let reader: SnapshotReader;
          try {
            reader = store.open(message.term, message.index);
          } catch (error) {
            const corrupt = error instanceof SnapshotCorruptError ? error : undefined;
            to.tell({ type: 'snapshotReadFailed', readId: message.readId, error: describe(error), file: corrupt?.file ?? null, offset: corrupt?.offset ?? null });
            return;
          }
          const window = Math.max(1, Math.min(message.windowChunks, snapshotLimits.readWindowChunksMax));
          const read: OpenRead = { readId: message.readId, reader, to, window, outstanding: 0, seq: 0, held: undefined, waiting: false };
          reads.set(k, read);
          pump(k, read);
          return;
        }
        case 'credit': {
          const k = key(message.readId);
          const read = reads.get(k);
          if (!read) return; // finished or cancelled meanwhile
          read.outstanding = Math.max(0, read.outstanding - message.chunks);
          pump(k, read);
          return;
        }
        case 'cancelRead': {
          const k = key(message.readId);
          const read = reads.get(k);
          if (read) endRead(k, read);
          return;
        }
        case 'sendSnapshot': {
          const { message: snap } = message;
          let file: string;
          try {
            file = store.pathOf(snap.snapshot.term, snap.snapshot.index);
          } catch (error) {
            ctx.log.warn('cannot send a snapshot that is not on disk', { to: snap.to, index: snap.snapshot.index, error: describe(error) });
            if (config.raft) ctx.ref<AnyProtocol>(config.raft).tell({ type: 'snapshotStatus', peer: snap.to, ok: false } as never);
            return;
          }
          if (config.transport) ctx.ref<AnyProtocol>(config.transport).tell({ type: 'sendSnapshotFile', to: snap.to, file, message: snap } as never);
          return;
        }
        case 'installIncoming': {
          const { message: snap, path: incoming } = message;
          try {
            const verified = verifySnapshotFile(ctx.disk, incoming);
            if (verified.metadata.index !== snap.snapshot.index || verified.metadata.term !== snap.snapshot.term) {
              throw new SnapshotUsageError(`incoming snapshot is at ${verified.metadata.term}-${verified.metadata.index}, announced as ${snap.snapshot.term}-${snap.snapshot.index}`);
            }
            const target = path.join(snapDir(config.dataDir), snapshotFileName(snap.snapshot.term, snap.snapshot.index));
            ctx.disk.rename(incoming, target);
            ctx.disk.fsyncDir(snapDir(config.dataDir));
            ctx.log.info('installed a snapshot from a peer', { from: snap.from, index: snap.snapshot.index, bytes: verified.bytes });
            if (config.raft) ctx.ref<AnyProtocol>(config.raft).tell({ type: 'peerMessages', messages: [snap] } as never);
            return null;
          } catch (error) {
            ctx.log.error('refused a snapshot from a peer', { from: snap.from, error: describe(error) });
            try {
              ctx.disk.unlink(incoming);
            } catch {
              // already gone
            }
            throw error;
          }
        }
        case 'list':
          return store.list();
        case 'prune':
          return store.prune(message.keep);
        default:
          return assertNever(message, 'snapshot message');
      }
    },

    stop() {
      for (const write of writes.values()) write.writer?.abort();
      writes.clear();
      for (const [k, read] of reads) endRead(k, read);
    },
  };
});
