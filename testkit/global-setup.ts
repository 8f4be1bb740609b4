import { connectBroker } from '../protocol/index.js';
import { AMQP_URL } from './broker.js';

/** Without a broker every integration test would fail at length; say it once, clearly, and stop. */
export default async function checkBroker(): Promise<void> {
  try {
    const connection = await connectBroker(AMQP_URL, { name: 'warren-test-probe' });
    await connection.close();
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    process.stderr.write(
      `\nnpm test: ${message}\n  the tests need a real RabbitMQ: start it (rabbitmq-server -detached, or docker compose up -d rabbitmq) or set AMQP_URL\n\n`,
    );
    process.exit(1);
  }
}
