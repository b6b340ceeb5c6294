#include "seedcast/core/config.hpp"

#include <gtest/gtest.h>

namespace seedcast {
namespace {

ConfigSources sources(std::map<std::string, std::string> flags, std::map<std::string, std::string> env,
                      std::map<std::string, std::string> dotenv) {
  ConfigSources s;
  s.flags = std::move(flags);
  s.env = [env](const std::string& k) -> std::optional<std::string> {
    auto it = env.find(k);
    return it == env.end() ? std::nullopt : std::optional<std::string>(it->second);
  };
  s.dotenv = std::move(dotenv);
  return s;
}

TEST(Config, DefaultsAreTheEmbeddedOnes) {
  Config c = load_config(sources({}, {}, {}));
  EXPECT_EQ(c.host, "localhost");
  EXPECT_EQ(c.port, 8002);
  EXPECT_EQ(c.library, "./library");
  EXPECT_EQ(c.data_dir, "./data");
  EXPECT_EQ(c.blacklist_path(), "./data/blacklist.txt");
}

TEST(Config, FlagBeatsEnvironmentBeatsDotenvBeatsDefault) {
  EXPECT_EQ(load_config(sources({{"PORT", "1"}}, {{"PORT", "2"}}, {{"PORT", "3"}})).port, 1);
  EXPECT_EQ(load_config(sources({}, {{"PORT", "2"}}, {{"PORT", "3"}})).port, 2);
  EXPECT_EQ(load_config(sources({}, {}, {{"PORT", "3"}})).port, 3);
  // Each setting is resolved on its own.
  Config c = load_config(sources({{"HOST", "::"}}, {{"LIBRARY", "/v"}}, {{"PORT", "3"}, {"HOST", "x"}}));
  EXPECT_EQ(c.host, "::");
  EXPECT_EQ(c.library, "/v");
  EXPECT_EQ(c.port, 3);
}

TEST(Config, AliasesAreAcceptedWhereverTheNameIs) {
  EXPECT_EQ(load_config(sources({}, {}, {{"listenPort", "9000"}})).port, 9000);
  EXPECT_EQ(load_config(sources({}, {{"listenPort", "9001"}}, {})).port, 9001);
  // The canonical name wins within one source.
  EXPECT_EQ(load_config(sources({}, {{"PORT", "1"}, {"listenPort", "2"}}, {})).port, 1);
}

TEST(Config, BadValuesNameTheSettingAndTheSource) {
  try {
    load_config(sources({}, {{"PORT", "eighty"}}, {}));
    FAIL() << "no exception";
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("PORT"), std::string::npos);
    EXPECT_NE(std::string(e.what()).find("environment"), std::string::npos);
  }
  EXPECT_THROW(load_config(sources({{"PORT", "70000"}}, {}, {})), std::invalid_argument);
  EXPECT_THROW(load_config(sources({}, {}, {{"PIECE_SIZE", "1000"}})), std::invalid_argument);
  EXPECT_THROW(load_config(sources({}, {}, {{"THREADS", "-1"}})), std::invalid_argument);
}

TEST(Dotenv, ParsesAssignmentsQuotesCommentsAndExport) {
  auto m = parse_dotenv(
      "# comment\n"
      "PORT=9000\n"
      "  export HOST = 0.0.0.0  \n"
      "PUBLIC_URL=\"https://cdn.example.com/x\"\n"
      "LIBRARY='/srv/my videos'\n"
      "DATA_DIR=/srv/data # trailing comment\n"
      "not an assignment\n"
      "=novalue\n"
      "EMPTY=\r\n");
  EXPECT_EQ(m.at("PORT"), "9000");
  EXPECT_EQ(m.at("HOST"), "0.0.0.0");
  EXPECT_EQ(m.at("PUBLIC_URL"), "https://cdn.example.com/x");
  EXPECT_EQ(m.at("LIBRARY"), "/srv/my videos");
  EXPECT_EQ(m.at("DATA_DIR"), "/srv/data");
  EXPECT_EQ(m.at("EMPTY"), "");
  EXPECT_EQ(m.size(), 6u);
}

TEST(Config, EverySettingHasAFlagName) {
  EXPECT_EQ(flag_name("PUBLIC_URL"), "public-url");
  for (const auto& s : settings()) EXPECT_FALSE(s.help.empty()) << s.name;
}

}  // namespace
}  // namespace seedcast

namespace seedcast {
namespace {

TEST(Config, OriginSettings) {
  Config d = load_config(sources({}, {}, {}));
  EXPECT_EQ(d.allowed_domains, "");
  EXPECT_FALSE(d.allow_private_origins);
  EXPECT_EQ(d.origin_max_bytes, uint64_t{8} << 30);
  EXPECT_EQ(d.origin_timeout, 600);
  EXPECT_EQ(d.origin_revalidate, 60);
  Config c = load_config(sources({}, {{"ALLOWED_DOMAINS", "a.example.com,*.b.example.com"}, {"ALLOW_PRIVATE_ORIGINS", "1"},
                                      {"ORIGIN_MAX_BYTES", "17179869184"}, {"ORIGIN_TIMEOUT", "5"}},
                                 {{"ORIGIN_REVALIDATE", "0"}, {"ALLOWED_DOMAINS_FILE", "/etc/seedcast/domains.json"}}));
  EXPECT_EQ(c.allowed_domains, "a.example.com,*.b.example.com");
  EXPECT_TRUE(c.allow_private_origins);
  EXPECT_EQ(c.origin_max_bytes, uint64_t{16} << 30);
  EXPECT_EQ(c.origin_timeout, 5);
  EXPECT_EQ(c.origin_revalidate, 0);
  EXPECT_EQ(c.allowed_domains_file, "/etc/seedcast/domains.json");
  EXPECT_THROW(load_config(sources({}, {{"ALLOW_PRIVATE_ORIGINS", "yes"}}, {})), std::invalid_argument);
  EXPECT_THROW(load_config(sources({}, {{"ORIGIN_TIMEOUT", "0"}}, {})), std::invalid_argument);
  EXPECT_THROW(load_config(sources({}, {{"ORIGIN_MAX_BYTES", "0"}}, {})), std::invalid_argument);
}

}  // namespace
}  // namespace seedcast
