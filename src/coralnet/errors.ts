/**
 * The errors a CoralNet caller can act on. Each names the endpoint it came from (`GET
 * /api/deploy_job/7/status/`), never contains the token, carries a stable `code` to branch on
 * (the message may change), and keeps the error that caused it as `cause`.
 */

export class CoralNetError extends Error {
  override name = 'CoralNetError';
  readonly code: string = 'CORALNET_ERROR';
  constructor(
    message: string,
    /** The method and path of the request, e.g. `POST /api/classifier/1/deploy/`. */
    readonly endpoint: string,
    /** The HTTP status, when the server answered. */
    readonly status?: number,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}

/** 403 (missing or wrong token) or rejected username/password: stop, retrying cannot help. */
export class AuthenticationError extends CoralNetError {
  override name = 'AuthenticationError';
  override readonly code = 'CORALNET_AUTHENTICATION';
}

/** 404: the classifier, job or user does not exist or is not yours. Jobs are deleted after 30 days. */
export class NotFoundError extends CoralNetError {
  override name = 'NotFoundError';
  override readonly code = 'CORALNET_NOT_FOUND';
}

/** 429 with Retry-After: one of the request windows (60/min, 1000/hour) is full. */
export class ThrottledError extends CoralNetError {
  override name = 'ThrottledError';
  override readonly code = 'CORALNET_THROTTLED';
  constructor(message: string, endpoint: string, readonly retryAfterSeconds: number) {
    super(message, endpoint, 429);
  }
}

/** 429 without Retry-After: the user already has as many active deploy jobs as allowed. */
export class TooManyActiveJobsError extends CoralNetError {
  override name = 'TooManyActiveJobsError';
  override readonly code = 'CORALNET_TOO_MANY_ACTIVE_JOBS';
  constructor(message: string, endpoint: string, readonly activeJobIds: string[]) {
    super(message, endpoint, 429);
  }
}

/** Every job slot of the account is held by jobs that said finished and never gave a result. */
export class StuckJobsError extends CoralNetError {
  override name = 'StuckJobsError';
  override readonly code = 'CORALNET_STUCK_JOBS';
  constructor(message: string, endpoint: string, readonly jobIds: string[]) {
    super(message, endpoint);
  }
}

/** 400 from the server, with the JSON pointer to the offending part of the request. */
export class RequestInvalidError extends CoralNetError {
  override name = 'RequestInvalidError';
  override readonly code = 'CORALNET_REQUEST_INVALID';
  constructor(message: string, endpoint: string, readonly detail: string, readonly pointer: string | undefined) {
    super(message, endpoint, 400);
  }
}

/** A deploy request that reefstream refuses to send, because the server would refuse it. */
export class InvalidDeployRequestError extends Error {
  override name = 'InvalidDeployRequestError';
  readonly code = 'DEPLOY_REQUEST_INVALID';
  constructor(
    message: string,
    /** Where the problem is, as the server's JSON pointer would name it. */
    readonly pointer: string,
    readonly imageIndex?: number,
    readonly pointIndex?: number,
  ) {
    super(message);
  }
}

/** 5xx: the server failed. Safe reads are retried before this reaches a caller. */
export class ServerError extends CoralNetError {
  override name = 'ServerError';
  override readonly code = 'CORALNET_SERVER_ERROR';
}

/** No answer: connection refused or dropped, DNS failure, time-out. */
export class NetworkError extends CoralNetError {
  override name = 'NetworkError';
  override readonly code = 'CORALNET_NETWORK';
  constructor(
    message: string,
    endpoint: string,
    /** The request never reached the server (no connection was made): nothing it asked for was done. */
    readonly neverSent = false,
    options?: ErrorOptions,
  ) {
    super(message, endpoint, undefined, options);
  }
}

/** An answer whose status or shape the protocol does not have: a changed server, or a proxy page. */
export class UnexpectedResponseError extends CoralNetError {
  override name = 'UnexpectedResponseError';
  override readonly code = 'CORALNET_UNEXPECTED_RESPONSE';
}

/**
 * A deploy whose answer was lost, when reefstream could not tell whether the server created the job
 * (it needs the username to look at the active jobs). Sending again might create a second job.
 */
export class AmbiguousDeployError extends CoralNetError {
  override name = 'AmbiguousDeployError';
  override readonly code = 'CORALNET_AMBIGUOUS_DEPLOY';
}

/** The token would travel over plain http to a host other than this machine. */
export class InsecureConnectionError extends Error {
  override name = 'InsecureConnectionError';
  readonly code = 'INSECURE_CONNECTION';
}
