// How raft's refusals reach clients: etcd's own errors where etcd has one for the situation, and a few of raft's own
// (same shape: a gRPC code and a message) where it has none.
import { Errors, GrpcCode } from '../api/errors.js';
import type { ProposalRejectReason } from './core/messages.js';
import type { Failure } from './protocol.js';

export const raftErrors = {
  /** A membership change was proposed while another one is not yet applied (changes go one at a time). */
  confChangeInProgress: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: a membership change is already in progress' },
  /** The change does not apply to the configuration (demoting a voter, removing the last voter...). */
  invalidConfChange: { code: GrpcCode.FAILED_PRECONDITION, message: 'etcdserver: invalid membership change' },
} as const;

/** The client-facing failure for a proposal the core refused. */
export function proposalFailure(reason: ProposalRejectReason): Failure {
  switch (reason) {
    case 'noLeader':
      return Errors.noLeader;
    case 'leaderTransferring':
      return Errors.leaderChanged;
    case 'tooManyRequests':
      return Errors.tooManyRequests;
    case 'confChangePending':
      return raftErrors.confChangeInProgress;
    case 'invalidConfChange':
      return raftErrors.invalidConfChange;
    case 'learnerNotReady':
      return Errors.learnerNotReady;
  }
}
