#include "protos7/webadmin/csv.hpp"

#include <gtest/gtest.h>

using namespace protos7::webadmin;

TEST(csv, quotes_only_when_needed_and_round_trips) {
  EXPECT_EQ(csv_field("abc"), "abc");
  EXPECT_EQ(csv_field("a,b"), "\"a,b\"");
  EXPECT_EQ(csv_field("Idle=0;Running=1"), "\"Idle=0;Running=1\"");
  EXPECT_EQ(csv_field("say \"hi\""), "\"say \"\"hi\"\"\"");
  const csv_row row{"a,b", "c\"d", "line\nbreak", "", "plain"};
  csv_error err;
  const auto t = parse_csv(csv_line(row), 10, err);
  ASSERT_TRUE(t);
  ASSERT_EQ(t->size(), 1U);
  EXPECT_EQ((*t)[0], row);
}

TEST(csv, reads_crlf_lf_bom_semicolons_and_skips_empty_lines) {
  csv_error err;
  auto t = parse_csv("\xEF\xBB\xBFname,type\r\nA,INT\r\n\r\nB,BOOL", 10, err);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (std::vector<csv_row>{{"name", "type"}, {"A", "INT"}, {"B", "BOOL"}}));
  t = parse_csv("name;type\nA;\"x;y\"\n", 10, err);
  ASSERT_TRUE(t);
  EXPECT_EQ(*t, (std::vector<csv_row>{{"name", "type"}, {"A", "x;y"}}));
}

TEST(csv, reports_the_line_of_an_error) {
  csv_error err;
  EXPECT_FALSE(parse_csv("a,b\nc,\"d\n", 10, err));
  EXPECT_EQ(err.line, 2U);
  EXPECT_FALSE(parse_csv("a,b\nc,d\"e\n", 10, err));
  EXPECT_EQ(err.line, 2U);
  EXPECT_FALSE(parse_csv("a,\"b\"c\n", 10, err));
  EXPECT_FALSE(parse_csv("a\nb\nc\n", 2, err));
}

TEST(csv, rows_are_handed_over_one_at_a_time_and_long_rows_are_refused) {
  csv_error err;
  std::vector<std::size_t> sizes;
  EXPECT_TRUE(for_each_csv_row("a,b\nc,d,e\n", 10, 3, err, [&](csv_row& row, std::size_t) {
    sizes.push_back(row.size());
    return true;
  }));
  EXPECT_EQ(sizes, (std::vector<std::size_t>{2, 3}));
  // A row of a million separators is refused at its 4th field, not after a million strings.
  std::size_t rows = 0;
  EXPECT_FALSE(
      for_each_csv_row("a,b\n" + std::string(1000000, ','), 10, 3, err, [&](csv_row&, std::size_t) {
        ++rows;
        return true;
      }));
  EXPECT_EQ(rows, 1U);
  EXPECT_EQ(err.line, 2U);
  EXPECT_EQ(err.message, "more than 3 fields in a row");
  // on_row stops the reading: false with no error.
  EXPECT_FALSE(
      for_each_csv_row("a\nb\nc\n", 10, 3, err, [&](csv_row&, std::size_t i) { return i < 1; }));
  EXPECT_EQ(err.message, "");
}
