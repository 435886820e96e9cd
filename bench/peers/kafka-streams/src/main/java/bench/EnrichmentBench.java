package bench;

import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse;

/**
 * The benchmark's Kafka Streams peer: runs {@link Enrichment} until SIGTERM. Prints {@code RUNNING}
 * to stdout when the app first reaches RUNNING; on SIGTERM closes it and exits 0; on an uncaught
 * exception or the ERROR state prints it to stderr and exits 1. Kafka Streams defaults apply except
 * one stream thread and the commit interval of the engine (1000 ms at-least-once, 100 ms
 * exactly-once), so the bench sees the group's offsets reach the end of the input as the engine's.
 *
 * <pre>
 * java -cp 'classes:lib/*' bench.EnrichmentBench --variant global|table
 *   --guarantee at-least-once|exactly-once --brokers host:port[,host:port] --application-id ID
 *   --ratings TOPIC --users TOPIC --output TOPIC --dlq TOPIC --state-dir DIR
 * </pre>
 */
public final class EnrichmentBench {
  private static final Set<String> OPTIONS =
      Set.of("variant", "guarantee", "brokers", "application-id", "ratings", "users", "output", "dlq", "state-dir");
  private static final Duration CLOSE_TIMEOUT = Duration.ofSeconds(30);

  private EnrichmentBench() {}

  public static void main(String[] argv) throws InterruptedException {
    Map<String, String> args;
    try {
      args = parse(argv);
    } catch (IllegalArgumentException e) {
      System.err.println(e.getMessage());
      System.exit(2);
      return;
    }
    boolean global = args.get("variant").equals("global");
    boolean exactlyOnce = args.get("guarantee").equals("exactly-once");

    Properties config = new Properties();
    config.put(StreamsConfig.APPLICATION_ID_CONFIG, args.get("application-id"));
    config.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, args.get("brokers"));
    config.put(StreamsConfig.STATE_DIR_CONFIG, args.get("state-dir"));
    config.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, 1);
    config.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, exactlyOnce ? StreamsConfig.EXACTLY_ONCE_V2 : StreamsConfig.AT_LEAST_ONCE);
    config.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, exactlyOnce ? 100 : 1000);
    config.put(StreamsConfig.consumerPrefix(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG), "earliest");

    KafkaStreams streams = new KafkaStreams(
        new Enrichment().build(global, args.get("ratings"), args.get("users"), args.get("output"), args.get("dlq")), config);

    CountDownLatch failed = new CountDownLatch(1);
    AtomicBoolean running = new AtomicBoolean();
    streams.setStateListener((state, previous) -> {
      if (state == KafkaStreams.State.RUNNING && running.compareAndSet(false, true)) {
        System.out.println("RUNNING");
        System.out.flush();
      }
      if (state == KafkaStreams.State.ERROR) failed.countDown();
    });
    streams.setUncaughtExceptionHandler(error -> {
      System.err.println("uncaught exception in a stream thread:");
      error.printStackTrace(System.err);
      return StreamThreadExceptionResponse.SHUTDOWN_CLIENT;
    });

    // SIGTERM: close within the timeout, then end with status 0 (not the JVM's 143 for a signal).
    AtomicBoolean stopping = new AtomicBoolean();
    Runtime.getRuntime().addShutdownHook(new Thread(() -> {
      stopping.set(true);
      boolean closed = streams.close(CLOSE_TIMEOUT);
      if (!closed) System.err.println("Kafka Streams did not close within " + CLOSE_TIMEOUT.toSeconds() + " s");
      System.out.flush();
      System.err.flush();
      Runtime.getRuntime().halt(failed.getCount() == 0 ? 1 : 0);
    }, "bench-shutdown"));

    try {
      streams.start();
    } catch (RuntimeException e) {
      System.err.println("Kafka Streams did not start:");
      e.printStackTrace(System.err);
      Runtime.getRuntime().halt(1);
    }
    failed.await();
    if (stopping.get()) return; // the shutdown hook ends the process
    System.err.println("Kafka Streams reached state ERROR; exiting");
    streams.close(CLOSE_TIMEOUT);
    System.err.flush();
    Runtime.getRuntime().halt(1);
  }

  private static Map<String, String> parse(String[] argv) {
    Map<String, String> args = new HashMap<>();
    for (int i = 0; i < argv.length; i += 2) {
      String flag = argv[i];
      if (!flag.startsWith("--") || !OPTIONS.contains(flag.substring(2))) throw new IllegalArgumentException("unknown option " + flag + "\n" + usage());
      if (i + 1 >= argv.length) throw new IllegalArgumentException(flag + " needs a value");
      args.put(flag.substring(2), argv[i + 1]);
    }
    for (String option : OPTIONS) {
      if (!args.containsKey(option)) throw new IllegalArgumentException("missing --" + option + "\n" + usage());
    }
    if (!List.of("global", "table").contains(args.get("variant"))) throw new IllegalArgumentException("--variant is global or table");
    if (!List.of("at-least-once", "exactly-once").contains(args.get("guarantee"))) {
      throw new IllegalArgumentException("--guarantee is at-least-once or exactly-once");
    }
    return args;
  }

  private static String usage() {
    return "usage: EnrichmentBench --variant global|table --guarantee at-least-once|exactly-once --brokers HOST:PORT"
        + " --application-id ID --ratings TOPIC --users TOPIC --output TOPIC --dlq TOPIC --state-dir DIR";
  }
}
