// A cell hosts one actor wherever it is placed: it owns the actor's links to its peers, packs everything sent to a
// peer during one turn into one frame, keeps credits so no mailbox grows without bound, matches asks with replies,
// and calls the behaviour. The cell is the same in a worker thread, on the main thread and under the deterministic
// scheduler; only the Channel under each link and the TurnScheduler differ.
//
// Credits: a sender counts the tell/ask messages it has sent to a peer that the peer has not yet handled (`unacked`,
// including those still in the outbox). The peer reports how many it handled in the ackCount field of the next frame
// it sends back (an ack-only frame when it has nothing else to say). A tell beyond the peer's mailbox limit is refused
// with `false`; the caller decides whether to wait (`whenWritable`), drop, or fail. Replies never count: an actor must
// always be able to answer.
import type { ActorContext, ActorRef, AnyProtocol, AskOptions, Behaviour, Message, Sender } from './actor.js';
import { assert } from './assert.js';
import type { Clock, Timer } from './clock.js';
import { decodeFrame, encodeFrame, EnvelopeKind, type Envelope } from './codec.js';
import type { Disk } from './disk.js';
import {
  ActorUnavailableError,
  AskTimeoutError,
  MailboxFullError,
  RemoteError,
  toWireError,
  type WireError,
} from './errors.js';
import { limits } from './limits.js';
import type { Logger } from './log.js';
import type { Random } from './random.js';

/** Carries frames one way to a peer cell. */
export interface Channel {
  post(frame: Uint8Array): void;
  /**
   * A channel between two actors of one thread hands the envelopes over as they are: no encoding, no copy. The
   * messages are then shared, which the runtime's rule already allows: nobody changes a message once it is sent.
   */
  handOver?(ackCount: number, envelopes: Envelope[]): void;
  close(): void;
}

/** Runs a callback once the current turn (the handling of the frames that arrived together) is over. */
export interface TurnScheduler {
  defer(callback: () => void): void;
}

export interface CellStats {
  framesSent: number;
  framesReceived: number;
  messagesSent: number;
  messagesReceived: number;
}

interface PendingAsk {
  resolve(value: unknown): void;
  reject(error: unknown): void;
  timer: Timer;
  peer: string;
}

class Link {
  outbox: Envelope[] = [];
  /** tell/ask messages sent to the peer (queued or in flight) that it has not reported handled. 0 <= unacked. */
  unacked = 0;
  /** Messages from the peer we handled and have not yet acknowledged. */
  handledSinceAck = 0;
  waiters: Array<() => void> = [];
  closedReason: string | undefined;

  constructor(
    readonly peer: string,
    readonly channel: Channel,
    /** The peer's mailbox limit for messages from us. */
    readonly limit: number,
  ) {}

  writable(): boolean {
    return this.closedReason === undefined && this.unacked < this.limit;
  }
}

type CellState = 'starting' | 'running' | 'stopping' | 'stopped' | 'crashed';

export interface CellOptions {
  name: string;
  clock: Clock;
  random: Random;
  disk: Disk;
  log: Logger;
  scheduler: TurnScheduler;
  /** Called once when the actor fails; the host reports it to the supervisor. */
  onCrash(error: unknown): void;
}

export class Cell {
  readonly name: string;
  readonly stats: CellStats = { framesSent: 0, framesReceived: 0, messagesSent: 0, messagesReceived: 0 };
  private readonly links = new Map<string, Link>();
  private readonly asks = new Map<number, PendingAsk>();
  private readonly refs = new Map<string, ActorRef<AnyProtocol>>();
  private nextAskId = 1;
  private behaviour: Behaviour<Message> | undefined;
  private state: CellState = 'starting';
  /** Tells and asks that arrived before the behaviour existed, in arrival order (replies are settled at once). */
  private early: Array<{ peer: string; envelopes: Envelope[] }> = [];
  private turnScheduled = false;
  private messagesThisTurn = 0;
  readonly context: ActorContext;

  constructor(private readonly options: CellOptions) {
    this.name = options.name;
    this.context = {
      name: options.name,
      clock: options.clock,
      random: options.random,
      disk: options.disk,
      log: options.log,
      ref: <P extends AnyProtocol>(peer: string) => this.ref<P>(peer),
      peers: () => [...this.links.keys()],
      fail: (error: unknown) => this.crash(error),
      flush: () => {
        if (this.state === 'running') this.flush();
      },
    };
  }

  get running(): boolean {
    return this.state === 'running';
  }

  addLink(peer: string, channel: Channel, peerMailboxLimit: number): void {
    assert(peer !== this.name, 'an actor does not link to itself');
    const previous = this.links.get(peer);
    if (previous) this.closeLink(previous, 'relinked');
    this.links.set(peer, new Link(peer, channel, peerMailboxLimit));
  }

  /** The peer went away (stopped, crashed or replaced): fail what waits on it. */
  unlink(peer: string, reason: string): void {
    const link = this.links.get(peer);
    if (!link) return;
    this.closeLink(link, reason);
    this.links.delete(peer);
  }

  private closeLink(link: Link, reason: string): void {
    link.closedReason = reason;
    link.channel.close();
    for (const [id, ask] of this.asks) {
      if (ask.peer !== link.peer) continue;
      this.asks.delete(id);
      ask.timer.cancel();
      ask.reject(new ActorUnavailableError(link.peer, reason));
    }
    const waiters = link.waiters;
    link.waiters = [];
    for (const wake of waiters) wake();
  }

  async start(factory: (context: ActorContext, config: unknown) => Behaviour<Message> | Promise<Behaviour<Message>>, config: unknown): Promise<void> {
    assert(this.state === 'starting', `cell ${this.name} started twice`);
    this.behaviour = await factory(this.context, config);
    if (this.state !== 'starting') return; // crashed or stopped while its factory ran
    this.state = 'running';
    const early = this.early;
    this.early = [];
    for (const { peer, envelopes } of early) {
      const link = this.links.get(peer);
      if (link) this.handleEnvelopes(link, envelopes);
    }
    this.scheduleTurnEnd();
  }

  /**
   * Handles one frame from a peer: credits first, then each envelope in order. While the actor's factory is still
   * running, replies are settled at once (so a factory may ask other actors) and the rest waits for the behaviour.
   */
  receiveFrame(peer: string, frame: Uint8Array): void {
    if (!this.links.has(peer)) return; // a frame from a peer that was unlinked meanwhile
    const { ackCount, envelopes } = decodeFrame(frame);
    this.receiveEnvelopes(peer, ackCount, envelopes);
  }

  /** Handles one batch from a peer: decoded from a frame, or handed over by a peer of the same thread. */
  receiveEnvelopes(peer: string, ackCount: number, envelopes: Envelope[]): void {
    const link = this.links.get(peer);
    if (!link) return; // from a peer that was unlinked meanwhile
    this.stats.framesReceived++;
    if (ackCount > 0) this.acknowledge(link, ackCount);
    if (this.state === 'starting') {
      const held: Envelope[] = [];
      for (const envelope of envelopes) {
        if (envelope.kind === EnvelopeKind.Reply || envelope.kind === EnvelopeKind.ReplyError) this.settleAsk(envelope);
        else held.push(envelope);
      }
      if (held.length > 0) this.early.push({ peer, envelopes: held });
      return;
    }
    this.handleEnvelopes(link, envelopes);
    this.scheduleTurnEnd();
  }

  private handleEnvelopes(link: Link, envelopes: Envelope[]): void {
    const peer = link.peer;
    const sender: Sender = { name: peer };
    for (const envelope of envelopes) {
      if (this.state === 'crashed') return;
      switch (envelope.kind) {
        case EnvelopeKind.Tell:
          this.countHandled(link);
          this.deliverTell(envelope.body as Message, sender);
          break;
        case EnvelopeKind.Ask:
          this.countHandled(link);
          this.deliverAsk(link, envelope.id, envelope.body as Message, sender);
          break;
        case EnvelopeKind.Reply:
        case EnvelopeKind.ReplyError:
          this.settleAsk(envelope);
          break;
        default:
          this.crash(new Error(`frame from ${peer} has an envelope of unknown kind ${String(envelope.kind)}`));
          return;
      }
    }
  }

  private countHandled(link: Link): void {
    link.handledSinceAck++;
    this.messagesThisTurn++;
    this.stats.messagesReceived++;
  }

  private deliverTell(message: Message, sender: Sender): void {
    if (this.state !== 'running') return; // stopping: drained messages after stop are dropped
    try {
      this.behaviour!.receive(message, sender, false);
    } catch (error) {
      this.crash(error);
    }
  }

  private deliverAsk(link: Link, id: number, message: Message, sender: Sender): void {
    if (this.state !== 'running') {
      this.enqueue(link, { kind: EnvelopeKind.ReplyError, id, body: toWireError(new ActorUnavailableError(this.name, this.state)) });
      return;
    }
    let result: unknown;
    try {
      result = this.behaviour!.receive(message, sender, true);
    } catch (error) {
      this.enqueue(link, { kind: EnvelopeKind.ReplyError, id, body: toWireError(error) });
      return;
    }
    if (isThenable(result)) {
      result.then(
        (value) => this.reply(link.peer, id, value),
        (error: unknown) => this.replyError(link.peer, id, error),
      );
    } else {
      this.enqueue(link, { kind: EnvelopeKind.Reply, id, body: result ?? null });
    }
  }

  private reply(peer: string, id: number, value: unknown): void {
    const link = this.links.get(peer);
    if (link && link.closedReason === undefined) this.enqueue(link, { kind: EnvelopeKind.Reply, id, body: value ?? null });
  }

  private replyError(peer: string, id: number, error: unknown): void {
    const link = this.links.get(peer);
    if (link && link.closedReason === undefined) this.enqueue(link, { kind: EnvelopeKind.ReplyError, id, body: toWireError(error) });
  }

  private settleAsk(envelope: Envelope): void {
    const ask = this.asks.get(envelope.id);
    if (!ask) return; // timed out earlier; the late answer has nobody to go to
    this.asks.delete(envelope.id);
    ask.timer.cancel();
    if (envelope.kind === EnvelopeKind.Reply) {
      ask.resolve(envelope.body);
    } else {
      const wire = envelope.body as WireError;
      ask.reject(new RemoteError(wire.name, wire.message, wire.code, ask.peer));
    }
  }

  private acknowledge(link: Link, count: number): void {
    link.unacked -= count;
    assert(link.unacked >= 0, `credits from ${link.peer} went negative`);
    if (link.waiters.length > 0 && link.writable()) {
      const waiters = link.waiters;
      link.waiters = [];
      for (const wake of waiters) wake();
    }
  }

  private enqueue(link: Link, envelope: Envelope): void {
    link.outbox.push(envelope);
    this.scheduleTurnEnd();
  }

  private scheduleTurnEnd(): void {
    if (this.turnScheduled) return;
    this.turnScheduled = true;
    this.options.scheduler.defer(() => this.endTurn());
  }

  /** Lets the behaviour act on the batch, then sends one frame per peer that has something (or acks) to send. */
  private endTurn(): void {
    this.turnScheduled = false;
    if (this.messagesThisTurn > 0 && this.state === 'running' && this.behaviour?.endOfTurn) {
      this.messagesThisTurn = 0;
      try {
        this.behaviour.endOfTurn();
      } catch (error) {
        this.crash(error);
      }
    }
    this.messagesThisTurn = 0;
    this.flush();
  }

  /** Sends everything queued. Safe to call at any time; used by endTurn and before a stop completes. */
  flush(): void {
    for (const link of this.links.values()) {
      if (link.closedReason !== undefined) continue;
      if (link.outbox.length === 0 && link.handledSinceAck === 0) continue;
      const outbox = link.outbox;
      link.outbox = [];
      if (link.channel.handOver) {
        this.stats.framesSent++;
        this.stats.messagesSent += outbox.length;
        const acks = link.handledSinceAck;
        link.handledSinceAck = 0;
        link.channel.handOver(acks, outbox);
        continue;
      }
      let start = 0;
      do {
        const end = Math.min(outbox.length, start + limits.frameMessagesMax);
        const frame = encodeFrame(link.handledSinceAck, outbox, start, end);
        link.handledSinceAck = 0;
        this.stats.framesSent++;
        this.stats.messagesSent += end - start;
        link.channel.post(frame);
        start = end;
      } while (start < outbox.length);
    }
  }

  private ref<P extends AnyProtocol>(peer: string): ActorRef<P> {
    const cached = this.refs.get(peer);
    if (cached) return cached as unknown as ActorRef<P>;
    const cell = this;
    const link = () => {
      const l = cell.links.get(peer);
      if (!l) throw new ActorUnavailableError(peer, `no link from ${cell.name}`);
      return l;
    };
    const ref: ActorRef<P> = {
      name: peer,
      tell(message) {
        const l = cell.links.get(peer);
        if (!l || !l.writable()) return false;
        l.unacked++;
        cell.enqueue(l, { kind: EnvelopeKind.Tell, id: 0, body: message });
        return true;
      },
      ask(message, options?: AskOptions) {
        let l: Link;
        try {
          l = link();
        } catch (error) {
          return Promise.reject(error);
        }
        if (l.closedReason !== undefined) return Promise.reject(new ActorUnavailableError(peer, l.closedReason));
        if (!l.writable()) return Promise.reject(new MailboxFullError(peer, l.limit));
        const id = cell.nextAskId++;
        const timeoutMs = options?.timeoutMs ?? limits.askTimeoutMsDefault;
        return new Promise((resolve, reject) => {
          const timer = cell.options.clock.setTimer(timeoutMs, () => {
            if (!cell.asks.delete(id)) return;
            reject(new AskTimeoutError(peer, (message as Message).type, timeoutMs));
          });
          cell.asks.set(id, { resolve: resolve as (value: unknown) => void, reject, timer, peer });
          l.unacked++;
          cell.enqueue(l, { kind: EnvelopeKind.Ask, id, body: message });
        });
      },
      writable: () => cell.links.get(peer)?.writable() ?? false,
      gone: () => {
        const l = cell.links.get(peer);
        return l === undefined || l.closedReason !== undefined;
      },
      whenWritable() {
        const l = cell.links.get(peer);
        if (!l || l.writable() || l.closedReason !== undefined) return Promise.resolve();
        return new Promise<void>((resolve) => l.waiters.push(resolve));
      },
      pending: () => cell.links.get(peer)?.unacked ?? 0,
    };
    this.refs.set(peer, ref as unknown as ActorRef<AnyProtocol>);
    return ref;
  }

  /** Graceful stop: the host has drained the mailbox; let the actor close its resources and send its last words. */
  async stop(): Promise<void> {
    if (this.state === 'stopped' || this.state === 'crashed') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopping';
    try {
      if (wasRunning && this.behaviour?.endOfTurn && this.messagesThisTurn > 0) {
        this.messagesThisTurn = 0;
        this.behaviour.endOfTurn();
      }
      if (wasRunning) await this.behaviour?.stop?.();
    } finally {
      this.flush();
      this.state = 'stopped';
      for (const [id, ask] of this.asks) {
        this.asks.delete(id);
        ask.timer.cancel();
        ask.reject(new ActorUnavailableError(this.name, 'stopped while waiting for a reply'));
      }
    }
  }

  crash(error: unknown): void {
    if (this.state === 'crashed' || this.state === 'stopped') return;
    this.state = 'crashed';
    for (const [id, ask] of this.asks) {
      this.asks.delete(id);
      ask.timer.cancel();
      ask.reject(new ActorUnavailableError(this.name, 'crashed'));
    }
    this.options.onCrash(error);
  }
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}
