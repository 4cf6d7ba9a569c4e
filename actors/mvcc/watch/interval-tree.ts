// An interval tree over key ranges [start, end) for matching range and prefix watches: given a key, find every
// range that contains it in O(log n + matches). A treap ordered by (start, end), each node also holding the largest
// end in its subtree, so a search skips every subtree that ends at or before the key. Priorities come from a fixed
// seed, so the same sequence of inserts gives the same tree (and the same visiting order) on every member and run.
import { assert } from '../../../runtime/assert.js';

interface Node<T> {
  start: string;
  end: string;
  value: T;
  priority: number;
  maxEnd: string;
  left: Node<T> | undefined;
  right: Node<T> | undefined;
}

function compareInterval(aStart: string, aEnd: string, bStart: string, bEnd: string): number {
  if (aStart !== bStart) return aStart < bStart ? -1 : 1;
  if (aEnd !== bEnd) return aEnd < bEnd ? -1 : 1;
  return 0;
}

function maxString(a: string, b: string): string {
  return a > b ? a : b;
}

function refresh<T>(node: Node<T>): void {
  let m = node.end;
  if (node.left) m = maxString(m, node.left.maxEnd);
  if (node.right) m = maxString(m, node.right.maxEnd);
  node.maxEnd = m;
}

export class IntervalTree<T> {
  private root: Node<T> | undefined;
  private count = 0;
  private seed = 0x2545f491;

  get size(): number {
    return this.count;
  }

  private nextPriority(): number {
    // xorshift32: deterministic priorities
    let x = this.seed;
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    this.seed = x >>> 0;
    return this.seed;
  }

  /** Adds [start, end) with its value; the same interval must not be present already. */
  insert(start: string, end: string, value: T): void {
    const node: Node<T> = { start, end, value, priority: this.nextPriority(), maxEnd: end, left: undefined, right: undefined };
    this.root = this.insertAt(this.root, node);
    this.count++;
  }

  private insertAt(at: Node<T> | undefined, node: Node<T>): Node<T> {
    if (!at) return node;
    const c = compareInterval(node.start, node.end, at.start, at.end);
    assert(c !== 0, 'interval inserted twice');
    if (c < 0) {
      at.left = this.insertAt(at.left, node);
      if (at.left.priority > at.priority) at = rotateRight(at);
    } else {
      at.right = this.insertAt(at.right, node);
      if (at.right.priority > at.priority) at = rotateLeft(at);
    }
    refresh(at);
    return at;
  }

  /** Removes [start, end); returns false when absent. */
  remove(start: string, end: string): boolean {
    const before = this.count;
    this.root = this.removeAt(this.root, start, end);
    return this.count < before;
  }

  private removeAt(at: Node<T> | undefined, start: string, end: string): Node<T> | undefined {
    if (!at) return undefined;
    const c = compareInterval(start, end, at.start, at.end);
    if (c < 0) at.left = this.removeAt(at.left, start, end);
    else if (c > 0) at.right = this.removeAt(at.right, start, end);
    else {
      this.count--;
      return merge(at.left, at.right);
    }
    refresh(at);
    return at;
  }

  /** Calls `visit` for every interval containing `point` (start <= point < end). */
  stab(point: string, visit: (value: T) => void): void {
    stabAt(this.root, point, visit);
  }

  /** Every interval in (start, end) order, for tests. */
  toArray(): Array<{ start: string; end: string; value: T }> {
    const out: Array<{ start: string; end: string; value: T }> = [];
    const walk = (n: Node<T> | undefined): void => {
      if (!n) return;
      walk(n.left);
      out.push({ start: n.start, end: n.end, value: n.value });
      walk(n.right);
    };
    walk(this.root);
    return out;
  }
}

function stabAt<T>(node: Node<T> | undefined, point: string, visit: (value: T) => void): void {
  while (node) {
    if (node.maxEnd <= point) return; // nothing below ends after the point
    stabAt(node.left, point, visit);
    if (node.start > point) return; // this node and everything to its right start after the point
    if (point < node.end) visit(node.value);
    node = node.right;
  }
}

function rotateRight<T>(node: Node<T>): Node<T> {
  const pivot = node.left!;
  node.left = pivot.right;
  pivot.right = node;
  refresh(node);
  refresh(pivot);
  return pivot;
}

function rotateLeft<T>(node: Node<T>): Node<T> {
  const pivot = node.right!;
  node.right = pivot.left;
  pivot.left = node;
  refresh(node);
  refresh(pivot);
  return pivot;
}

function merge<T>(a: Node<T> | undefined, b: Node<T> | undefined): Node<T> | undefined {
  if (!a) return b;
  if (!b) return a;
  if (a.priority > b.priority) {
    a.right = merge(a.right, b);
    refresh(a);
    return a;
  }
  b.left = merge(a, b.left);
  refresh(b);
  return b;
}
