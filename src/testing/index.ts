export { TopologyTestDriver, type TopologyTestDriverOptions, type DeadLetter } from './topology-test-driver.ts';
export { TestInputTopic, TestOutputTopic, type PipeOptions, type TestRecord } from './test-topics.ts';
