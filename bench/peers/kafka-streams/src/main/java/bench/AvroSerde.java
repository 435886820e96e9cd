package bench;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericDatumWriter;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Plain Avro binary of one record schema (no header, no schema id), as a Kafka serde. Decoding is
 * strict: bytes that end before the record does, or go on after it, do not decode. Readers, writers
 * and their buffers are kept per thread, so one instance serves every stream thread.
 */
final class AvroSerde implements Serde<GenericRecord>, Serializer<GenericRecord>, Deserializer<GenericRecord> {
  private final Schema schema;
  private final ThreadLocal<Codec> codecs;

  private static final class Codec {
    final GenericDatumReader<GenericRecord> reader;
    final GenericDatumWriter<GenericRecord> writer;
    final ByteArrayOutputStream out = new ByteArrayOutputStream(512);
    BinaryDecoder decoder;
    BinaryEncoder encoder;

    Codec(Schema schema) {
      reader = new GenericDatumReader<>(schema);
      writer = new GenericDatumWriter<>(schema);
    }
  }

  AvroSerde(Schema schema) {
    this.schema = schema;
    this.codecs = ThreadLocal.withInitial(() -> new Codec(schema));
  }

  /** A schema file on the classpath (the build copies them from topologies/schemas). */
  static Schema schemaResource(String name) {
    try (InputStream in = AvroSerde.class.getResourceAsStream("/" + name)) {
      if (in == null) throw new IllegalStateException(name + " is not on the classpath");
      return new Schema.Parser().parse(in);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }

  Schema schema() {
    return schema;
  }

  /** The record the bytes hold; throws when they are not exactly one record of the schema. */
  GenericRecord decode(byte[] bytes) throws IOException {
    Codec codec = codecs.get();
    codec.decoder = DecoderFactory.get().binaryDecoder(bytes, codec.decoder);
    GenericRecord record = codec.reader.read(null, codec.decoder);
    if (!codec.decoder.isEnd()) throw new EOFException("trailing bytes after the record");
    return record;
  }

  byte[] encode(GenericRecord record) throws IOException {
    Codec codec = codecs.get();
    codec.out.reset();
    codec.encoder = EncoderFactory.get().binaryEncoder(codec.out, codec.encoder);
    codec.writer.write(record, codec.encoder);
    codec.encoder.flush();
    return codec.out.toByteArray();
  }

  @Override
  public byte[] serialize(String topic, GenericRecord record) {
    if (record == null) return null;
    try {
      return encode(record);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot encode a " + schema.getName() + " for " + topic, e);
    }
  }

  @Override
  public GenericRecord deserialize(String topic, byte[] bytes) {
    if (bytes == null) return null;
    try {
      return decode(bytes);
    } catch (IOException | RuntimeException e) {
      throw new SerializationException("cannot decode a " + schema.getName() + " from " + topic, e);
    }
  }

  @Override
  public Serializer<GenericRecord> serializer() {
    return this;
  }

  @Override
  public Deserializer<GenericRecord> deserializer() {
    return this;
  }

  // Serde, Serializer and Deserializer each declare these two; there is nothing to set or release.
  @Override
  public void configure(Map<String, ?> configs, boolean isKey) {}

  @Override
  public void close() {}
}
