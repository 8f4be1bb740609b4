import { describe, expect, it } from 'vitest';
import { describeConnectError } from '../../protocol/broker.js';
import { ErrorCodes } from '../../protocol/index.js';

const URL_ = 'amqps://guest:guest@127.0.0.1:5672';

/** An error shaped as node's TLS socket or amqplib's handshake reports it. */
function failure(message: string, code?: string): Error {
  return Object.assign(new Error(message), code === undefined ? {} : { code });
}

describe('describeConnectError', () => {
  it('says TLS failed even when the OpenSSL thread address in the message holds "403"', () => {
    // The CI flake: this address once read as an AMQP 403 and was reported as a refused login.
    const err = failure(
      '80EC5403AC7F0000:error:0A00010B:SSL routines:ssl3_get_record:wrong version number:ssl3_record.c:350:\n',
      'ERR_SSL_WRONG_VERSION_NUMBER',
    );
    const described = describeConnectError(err, URL_);
    expect(described.code).toBe(ErrorCodes.BROKER_TLS);
    expect(described.message).toMatch(/^TLS with RabbitMQ at \S+ failed \(ERR_SSL_WRONG_VERSION_NUMBER\)/);
  });

  it('says the login was refused on an AMQP ACCESS_REFUSED, and never shows the password', () => {
    const err = failure(
      'Handshake terminated by server: 403 (ACCESS-REFUSED) with message "ACCESS_REFUSED - Login was refused using authentication mechanism PLAIN."',
    );
    const described = describeConnectError(err, 'amqp://guest:secret@127.0.0.1:5672');
    expect(described.code).toBe(ErrorCodes.BROKER_AUTH);
    expect(described.message).toMatch(/refused the login$/);
    expect(described.message).not.toContain('secret');
  });

  it('does not call an unreachable broker a refused login because a number in the reason is 403', () => {
    const described = describeConnectError(
      failure('connect ECONNREFUSED 10.0.0.4:5403', 'ECONNREFUSED'),
      URL_,
    );
    expect(described.code).toBe(ErrorCodes.BROKER_UNREACHABLE);
  });
});
