// postgresql_outbox: the outbox table name check, the SQL text, the advisory lock key and
// the decoding of binary-format columns.
#include "consumers/postgresql_outbox.hpp"

#include <gtest/gtest.h>

using namespace gyre::consumers::pg_outbox;
using namespace std::string_view_literals;

TEST(postgresql_outbox, table_names) {
  EXPECT_TRUE(valid_table_name("outbox"));
  EXPECT_TRUE(valid_table_name("app.outbox_2"));
  EXPECT_TRUE(valid_table_name("_Out$box"));
  EXPECT_FALSE(valid_table_name(""));
  EXPECT_FALSE(valid_table_name("1outbox"));
  EXPECT_FALSE(valid_table_name("a.b.c"));
  EXPECT_FALSE(valid_table_name("outbox; DROP TABLE x"));
  EXPECT_FALSE(valid_table_name("\"outbox\""));
  EXPECT_FALSE(valid_table_name(".outbox"));
  EXPECT_FALSE(valid_table_name(std::string(64, 'a')));
}

TEST(postgresql_outbox, sql_and_lock_key) {
  EXPECT_EQ(select_sql("app.outbox"),
            "SELECT id, method, payload FROM app.outbox WHERE partition = $1 ORDER BY id ASC "
            "LIMIT $2");
  EXPECT_EQ(delete_sql("outbox"), "DELETE FROM outbox WHERE id = ANY($1::bigint[])");
  EXPECT_EQ(id_array({}), "{}");
  EXPECT_EQ(id_array({1, 22, -3}), "{1,22,-3}");
  EXPECT_EQ(lock_key("my_consumer", 7), "centrifugo_partition_lock_my_consumer7");
}

TEST(postgresql_outbox, ids) {
  EXPECT_EQ(read_id(oid_int8, "\x00\x00\x00\x00\x00\x00\x01\x02"sv), 258);
  EXPECT_EQ(read_id(oid_int8, "\xff\xff\xff\xff\xff\xff\xff\xff"sv), -1);
  EXPECT_EQ(read_id(oid_int4, "\x00\x00\x01\x00"sv), 256);
  EXPECT_EQ(read_id(oid_int4, "\xff\xff\xff\xfe"sv), -2);
  EXPECT_EQ(read_id(oid_int8, "\x00\x01"sv), std::nullopt);
  EXPECT_EQ(read_id(oid_text, "12"sv), std::nullopt);
}

TEST(postgresql_outbox, text_columns) {
  EXPECT_EQ(read_text(oid_jsonb, "\x01{\"a\":1}"sv), "{\"a\":1}");
  EXPECT_EQ(read_text(oid_jsonb, "\x02{}"sv), std::nullopt);
  EXPECT_EQ(read_text(oid_jsonb, ""sv), std::nullopt);
  EXPECT_EQ(read_text(oid_json, "{}"sv), "{}");
  EXPECT_EQ(read_text(oid_bytea, "{\"x\":2}"sv), "{\"x\":2}");
  EXPECT_EQ(read_text(oid_text, "publish"sv), "publish");
  EXPECT_EQ(read_text(oid_varchar, "publish"sv), "publish");
  EXPECT_EQ(read_text(oid_int4, "\x00\x00\x00\x01"sv), std::nullopt);
}
