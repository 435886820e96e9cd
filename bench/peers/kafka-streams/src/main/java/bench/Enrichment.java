package bench;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericData;
import org.apache.avro.generic.GenericRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsBuilder;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.kstream.Branched;
import org.apache.kafka.streams.kstream.Consumed;
import org.apache.kafka.streams.kstream.GlobalKTable;
import org.apache.kafka.streams.kstream.Joined;
import org.apache.kafka.streams.kstream.KStream;
import org.apache.kafka.streams.kstream.KTable;
import org.apache.kafka.streams.kstream.Materialized;
import org.apache.kafka.streams.kstream.Named;
import org.apache.kafka.streams.kstream.Produced;
import org.apache.kafka.streams.processor.api.FixedKeyProcessor;
import org.apache.kafka.streams.processor.api.FixedKeyProcessorContext;
import org.apache.kafka.streams.processor.api.FixedKeyRecord;

/**
 * The benchmark's enrichment (bench/workload.ts) as a Kafka Streams topology: ratings (Avro bytes)
 * are decoded and checked with the rules of the engine's validateRating; the invalid ones go to the
 * dead-letter topic as they came, the valid ones are left-joined with the users (JSON) and written
 * as RatingEnriched (Avro). {@code global} joins a GlobalKTable by the rating's user id; {@code
 * table} re-keys the ratings by user id (a repartition topic) to meet a partitioned KTable, then
 * re-keys the result by rating id.
 */
final class Enrichment {
  static final String REASON_HEADER = "dlq.reason";
  private static final long DAY_MS = 86_400_000L;
  private static final ObjectMapper JSON = new ObjectMapper();

  private final AvroSerde ratings = new AvroSerde(AvroSerde.schemaResource("rating-event.avsc"));
  private final AvroSerde enriched = new AvroSerde(AvroSerde.schemaResource("rating-enriched.avsc"));
  private final Schema profileSchema = enriched.schema().getField("userProfile").schema().getTypes().stream()
      .filter(type -> type.getType() == Schema.Type.RECORD)
      .findFirst()
      .orElseThrow();

  /** A rating as read: its bytes, and either the decoded valid rating or why it is not one. */
  record Checked(byte[] bytes, GenericRecord rating, String reason) {}

  Topology build(boolean global, String ratingsTopic, String usersTopic, String outputTopic, String dlqTopic) {
    StreamsBuilder builder = new StreamsBuilder();
    Map<String, KStream<String, Checked>> branches = builder
        .stream(ratingsTopic, Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("ratings-source"))
        .mapValues(this::check, Named.as("validate-rating"))
        .split(Named.as("rating-"))
        .branch((id, checked) -> checked.rating() != null, Branched.as("valid"))
        .defaultBranch(Branched.as("invalid"));

    branches.get("rating-invalid")
        .processValues(DeadLetter::new, Named.as("dead-letter"))
        .to(dlqTopic, Produced.with(Serdes.String(), Serdes.ByteArray()).withName("dlq-sink"));

    KStream<String, GenericRecord> valid = branches.get("rating-valid").mapValues(Checked::rating, Named.as("valid-rating"));
    Consumed<String, byte[]> users = Consumed.with(Serdes.String(), Serdes.ByteArray()).withName("users-source");
    KStream<String, GenericRecord> joined;
    if (global) {
      GlobalKTable<String, byte[]> table = builder.globalTable(usersTopic, users);
      joined = valid.leftJoin(table, (id, rating) -> rating.get("userId").toString(), this::enrich, Named.as("join-user"));
    } else {
      KTable<String, byte[]> table = builder.table(usersTopic, users, Materialized.as("users"));
      joined = valid
          .selectKey((id, rating) -> rating.get("userId").toString(), Named.as("ratings-by-user-key"))
          .leftJoin(table, this::enrich, Joined.with(Serdes.String(), ratings, Serdes.ByteArray()).withName("ratings-by-user"))
          .selectKey((userId, record) -> record.get("id").toString(), Named.as("by-rating-id"));
    }
    joined.to(outputTopic, Produced.with(Serdes.String(), enriched).withName("enriched-sink"));
    return builder.build();
  }

  /** Decodes and validates a rating (the rules of validateRating in rating-event.ts). */
  Checked check(byte[] bytes) {
    GenericRecord rating;
    try {
      rating = ratings.decode(bytes);
    } catch (IOException | RuntimeException e) {
      return new Checked(bytes, null, "does not decode as a RatingEvent: " + e);
    }
    List<String> reasons = new ArrayList<>(0);
    for (String name : new String[] {"id", "productId", "userId"}) {
      if (rating.get(name).toString().isBlank()) reasons.add(name + ": must not be empty");
    }
    int score = (Integer) rating.get("score");
    if (score < 1 || score > 5) reasons.add("score: " + score + " is outside 1..5");
    long timestamp = (Long) rating.get("timestamp");
    if (timestamp < 0) reasons.add("timestamp: " + timestamp + " is before 1970");
    else if (timestamp > System.currentTimeMillis() + DAY_MS) reasons.add("timestamp: " + timestamp + " is more than a day in the future");
    return reasons.isEmpty() ? new Checked(bytes, rating, null) : new Checked(bytes, null, String.join("; ", reasons));
  }

  /** The left join: the rating, the user's profile (null when the table has none), the time. */
  GenericRecord enrich(GenericRecord rating, byte[] user) {
    GenericRecord out = new GenericData.Record(enriched.schema());
    for (Schema.Field field : rating.getSchema().getFields()) out.put(field.name(), rating.get(field.pos()));
    out.put("userProfile", user == null ? null : profile(rating.get("userId"), user));
    out.put("enrichedAt", System.currentTimeMillis());
    return out;
  }

  private GenericRecord profile(Object userId, byte[] json) {
    JsonNode node;
    try {
      node = JSON.readTree(json);
    } catch (IOException e) {
      // A users value that is not JSON stops the app, as Kafka Streams' default
      // LogAndFailExceptionHandler would with a JSON serde on the table.
      throw new UncheckedIOException("users value for " + userId + " is not JSON", e);
    }
    GenericRecord profile = new GenericData.Record(profileSchema);
    profile.put("id", userId);
    for (String name : new String[] {"name", "email", "tier", "updatedAt"}) {
      JsonNode value = node.get(name);
      profile.put(name, value != null && value.isTextual() ? value.textValue() : null);
    }
    return profile;
  }

  /** Passes the original bytes on to the dead-letter topic, with the reason in a header. */
  private static final class DeadLetter implements FixedKeyProcessor<String, Checked, byte[]> {
    private FixedKeyProcessorContext<String, byte[]> context;

    @Override
    public void init(FixedKeyProcessorContext<String, byte[]> context) {
      this.context = context;
    }

    @Override
    public void process(FixedKeyRecord<String, Checked> record) {
      RecordHeaders headers = new RecordHeaders(record.headers().toArray());
      headers.add(REASON_HEADER, record.value().reason().getBytes(StandardCharsets.UTF_8));
      context.forward(record.withValue(record.value().bytes()).withHeaders(headers));
    }
  }
}
