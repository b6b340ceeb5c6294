#include "seedcast/core/text.hpp"

#include <gtest/gtest.h>

namespace seedcast::text {
namespace {

TEST(PercentDecode, IsLenient) {
  EXPECT_EQ(percent_decode("My%20Show%20%C3%BCn%C3%AF"), "My Show ünï");
  EXPECT_EQ(percent_decode("a%2fb%2Fc"), "a/b/c");
  EXPECT_EQ(percent_decode("a+b"), "a+b");          // paths are not forms
  EXPECT_EQ(percent_decode("100%"), "100%");        // bad escapes stay as they are
  EXPECT_EQ(percent_decode("%zz%4"), "%zz%4");
  EXPECT_EQ(percent_decode("%00"), std::string(1, '\0'));
  EXPECT_EQ(percent_decode("raw ünï"), "raw ünï");
}

TEST(PercentEncode, KeepsUnreservedAndOptionallySlashes) {
  EXPECT_EQ(percent_encode("a b/c~d"), "a%20b%2Fc~d");
  EXPECT_EQ(percent_encode("a b/c", true), "a%20b/c");
  EXPECT_EQ(percent_encode("ü"), "%C3%BC");
  EXPECT_EQ(percent_decode(percent_encode("x/y z&+%")), "x/y z&+%");
}

TEST(QueryParam, DecodesFormEncoding) {
  EXPECT_EQ(query_param("json=1&x=2", "json").value_or("-"), "1");
  EXPECT_EQ(query_param("a=b+c%21", "a").value_or("-"), "b c!");
  EXPECT_EQ(query_param("flag&other=1", "flag").value_or("-"), "");
  EXPECT_FALSE(query_param("jsonx=1", "json").has_value());
  EXPECT_FALSE(query_param("", "json").has_value());
}

TEST(HtmlEscape, EscapesMarkup) { EXPECT_EQ(html_escape("<a href=\"x\">'&"), "&lt;a href=&quot;x&quot;&gt;&#39;&amp;"); }

TEST(HttpDate, FormatsAndParsesAllThreeForms) {
  EXPECT_EQ(http_date(784111777), "Sun, 06 Nov 1994 08:49:37 GMT");
  EXPECT_EQ(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sunday, 06-Nov-94 08:49:37 GMT"), 784111777);
  EXPECT_EQ(parse_http_date("Sun Nov  6 08:49:37 1994"), 784111777);
  EXPECT_FALSE(parse_http_date("yesterday").has_value());
  EXPECT_FALSE(parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT trailing").has_value());
  EXPECT_EQ(iso8601(784111777), "1994-11-06T08:49:37Z");
}

TEST(MimeType, ByExtensionCaseInsensitive) {
  EXPECT_EQ(mime_type("a.mp4"), "video/mp4");
  EXPECT_EQ(mime_type("dir.x/A.MKV"), "video/x-matroska");
  EXPECT_EQ(mime_type("poster.jpg"), "image/jpeg");
  EXPECT_EQ(mime_type("notes.txt"), "text/plain; charset=utf-8");
  EXPECT_EQ(mime_type("noext"), "application/octet-stream");
  EXPECT_EQ(mime_type("dir.mp4/file"), "application/octet-stream");
}

}  // namespace
}  // namespace seedcast::text
