/**
 * Contender: the pattern the project started from, one awaited send per message (`eachMessage`,
 * decode, validate, look up, `await producer.send` of that one record, kafkajs' auto-commit). It is
 * here to show what batching is worth; it runs on a smaller input. Arguments: `ContenderArgs` JSON.
 */
import { Kafka, logLevel } from 'kafkajs';
import { contenderArgs } from './args.ts';
import { deadLetter, decodeValid, enrich, readUsers } from './kafkajs-common.ts';

const args = contenderArgs();
const kafka = new Kafka({ brokers: args.brokers, clientId: args.applicationId, logLevel: logLevel.ERROR });
const users = await readUsers(kafka, args);
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();
const consumer = kafka.consumer({ groupId: args.applicationId });
await consumer.connect();
await consumer.subscribe({ topic: args.ratingsTopic, fromBeginning: true });
process.stdout.write('RUNNING\n');
await consumer.run({
  eachMessage: async ({ message }) => {
    const now = Date.now();
    const rating = decodeValid(message.value, now);
    if (rating === undefined) await producer.send({ topic: args.dlqTopic, messages: [deadLetter(message)] });
    else await producer.send({ topic: args.outputTopic, messages: [{ key: message.key, value: enrich(rating, users.get(rating.userId), now) }] });
  },
});
process.once('SIGTERM', () => void consumer.disconnect().then(() => producer.disconnect()).then(() => process.exit(0)));
