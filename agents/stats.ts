/** What the agent reports with --verbose, on SIGUSR1 and in its pino log. */
export type AgentState = 'starting' | 'connected' | 'spooling' | 'closing' | 'closed';

export interface Stats {
  /** Records taken from inputs. */
  read: number;
  /** Records sent to the broker (a re-send after a lost channel counts again). */
  published: number;
  /** Records the broker confirmed. */
  confirmed: number;
  /** Records written to the disk spool. */
  spooled: number;
  /** Records a lossy input (UDP syslog) had to drop because the spool was full. */
  dropped: number;
  /** Times the spool filled up and inputs were paused. */
  spoolFull: number;
  state: AgentState;
}

export function createStats(): Stats {
  return {
    read: 0,
    published: 0,
    confirmed: 0,
    spooled: 0,
    dropped: 0,
    spoolFull: 0,
    state: 'starting',
  };
}
