#include "mlrec/config/config.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <climits>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <set>
#include <sstream>
#include <type_traits>
#include <utility>

#include "mlrec/common/error.h"
#include "mlrec/common/file_io.h"
#include "mlrec/common/logging.h"
#include "mlrec/common/strings.h"
#include "param_table.h"

namespace mlrec::config {
namespace {

// ---------------------------------------------------------------------------------------------
// Value formatting

std::string format_int_list(const std::vector<int>& v) {
  std::string s = "[";
  for (size_t i = 0; i < v.size(); ++i) {
    if (i) s += ", ";
    s += std::to_string(v[i]);
  }
  return s + "]";
}

std::string format_value(const ParamValue& value) {
  struct Visitor {
    std::string operator()(bool b) const { return b ? "true" : "false"; }
    std::string operator()(int64_t i) const { return std::to_string(i); }
    std::string operator()(double d) const { return format_double(d); }
    std::string operator()(const std::string& s) const { return s; }
    std::string operator()(const std::vector<int>& v) const { return format_int_list(v); }
  };
  return std::visit(Visitor{}, value);
}

// ---------------------------------------------------------------------------------------------
// Keys

std::vector<std::string> section_names() {
  std::vector<std::string> out;
  for (const auto& s : param_specs()) {
    const auto sec = s.section();
    if (std::find(out.begin(), out.end(), sec) == out.end()) out.push_back(sec);
  }
  return out;
}

bool is_section(const std::string& name) {
  for (const auto& s : param_specs()) {
    if (s.key.size() > name.size() && s.key.compare(0, name.size(), name) == 0 &&
        s.key[name.size()] == '.')
      return true;
  }
  return false;
}

[[noreturn]] void unknown_key(const std::string& key, const std::string& context) {
  std::string best;
  size_t best_d = 4;  // suggest only within distance 3
  std::vector<std::string> candidates = section_names();
  for (const auto& s : param_specs()) candidates.push_back(s.key);
  for (const auto& c : candidates) {
    const size_t d = edit_distance(key, c);
    if (d < best_d) best_d = d, best = c;
  }
  std::string reason = "unknown key";
  if (!best.empty()) reason += " (did you mean '" + best + "'?)";
  throw ConfigError::for_key(key, reason + context);
}

// ---------------------------------------------------------------------------------------------
// Parsing and checking

std::string expected_text(const ParamSpec& spec) {
  switch (spec.type) {
    case ParamType::kBool: return "expected true or false";
    case ParamType::kInt:
    case ParamType::kInt64: return "expected an integer";
    case ParamType::kDouble: return "expected a number";
    case ParamType::kString: return "expected a string";
    case ParamType::kIntList: return "expected a list of integers";
  }
  return "expected a value";
}

// Parses a base-10 integer with no junk; nullopt + reason on failure.
std::optional<int64_t> parse_int(const std::string& text, bool is_int32, std::string* why) {
  const std::string& s = text;
  size_t i = (!s.empty() && (s[0] == '+' || s[0] == '-')) ? 1 : 0;
  if (i >= s.size() || !std::all_of(s.begin() + i, s.end(), [](char c) { return c >= '0' && c <= '9'; })) {
    *why = "got " + quote_value(text);
    return std::nullopt;
  }
  errno = 0;
  const long long v = std::strtoll(s.c_str(), nullptr, 10);
  const bool overflow = errno == ERANGE || (is_int32 && (v < INT_MIN || v > INT_MAX));
  if (overflow) {
    *why = "got " + quote_value(text) + ", which is too large in magnitude";
    return std::nullopt;
  }
  return static_cast<int64_t>(v);
}

std::optional<double> parse_double(const std::string& s, std::string* why) {
  const bool chars_ok = !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= '0' && c <= '9') || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-';
  });
  if (chars_ok) {
    errno = 0;
    char* end = nullptr;
    const double v = std::strtod(s.c_str(), &end);
    if (end == s.c_str() + s.size()) {
      if (errno == ERANGE || !std::isfinite(v)) {
        *why = "got " + quote_value(s) + ", which is out of the representable range";
        return std::nullopt;
      }
      return v;
    }
  }
  *why = "got " + quote_value(s);
  return std::nullopt;
}

// "[64, 32]", "64,32" or "64"; "[]" is the empty list.
std::optional<std::vector<int>> parse_int_list(const std::string& text, std::string* why) {
  std::string s = trim(text);
  if (!s.empty() && s.front() == '[') {
    if (s.back() != ']') {
      *why = "got " + quote_value(text);
      return std::nullopt;
    }
    s = trim(s.substr(1, s.size() - 2));
  }
  std::vector<int> out;
  if (s.empty()) return out;
  std::stringstream ss(s);
  std::string item;
  while (std::getline(ss, item, ',')) {
    std::string item_why;
    const auto v = parse_int(trim(item), /*is_int32=*/true, &item_why);
    if (!v) {
      *why = "element " + std::to_string(out.size()) + ": " + item_why;
      return std::nullopt;
    }
    out.push_back(static_cast<int>(*v));
  }
  if (s.back() == ',') {  // getline drops a trailing empty item
    *why = "got " + quote_value(text);
    return std::nullopt;
  }
  return out;
}

// "> 0", ">= 1", "in [0, 1)", or "" when unbounded.
std::string numeric_range_text(const ParamSpec& s) {
  if (s.min && s.max) {
    return std::string("in ") + (s.min_exclusive ? "(" : "[") + format_double(*s.min) + ", " +
           format_double(*s.max) + (s.max_exclusive ? ")" : "]");
  }
  if (s.min) return std::string(s.min_exclusive ? "> " : ">= ") + format_double(*s.min);
  if (s.max) return std::string(s.max_exclusive ? "< " : "<= ") + format_double(*s.max);
  return "";
}

// Bounds and enum checks for one value; throws ConfigError naming the key.
void check_value(const ParamSpec& spec, const ParamValue& value, const std::string& context) {
  auto fail = [&](const std::string& reason) {
    throw ConfigError::for_key(spec.key, reason + context);
  };
  auto in_range = [&](double v) {
    if (spec.min && (spec.min_exclusive ? !(v > *spec.min) : !(v >= *spec.min))) return false;
    if (spec.max && (spec.max_exclusive ? !(v < *spec.max) : !(v <= *spec.max))) return false;
    return true;
  };
  switch (spec.type) {
    case ParamType::kBool: break;
    case ParamType::kInt:
    case ParamType::kInt64: {
      const int64_t v = std::get<int64_t>(value);
      if (!in_range(static_cast<double>(v)))
        fail("must be " + spec.range_text() + ", got " + std::to_string(v));
      break;
    }
    case ParamType::kDouble: {
      const double v = std::get<double>(value);
      if (!std::isfinite(v) || !in_range(v))
        fail("must be " + spec.range_text() + ", got " + format_double(v));
      break;
    }
    case ParamType::kString: {
      const auto& v = std::get<std::string>(value);
      if (!spec.allowed.empty()) {
        if (std::find(spec.allowed.begin(), spec.allowed.end(), v) == spec.allowed.end())
          fail("expected one of " + join(spec.allowed, ", ") + "; got " + quote_value(v));
      } else if (v.empty() && !spec.allow_empty) {
        fail("must not be empty");
      }
      break;
    }
    case ParamType::kIntList: {
      const auto& v = std::get<std::vector<int>>(value);
      if (v.empty() && !spec.allow_empty) fail("must be a non-empty list");
      for (size_t i = 0; i < v.size(); ++i) {
        if (!in_range(v[i]))
          fail("element " + std::to_string(i) + " must be " + numeric_range_text(spec) +
               ", got " + std::to_string(v[i]));
      }
      break;
    }
  }
}

// Parses `text` as the spec's type (no bounds check).
ParamValue parse_text(const ParamSpec& spec, const std::string& text, const std::string& context) {
  std::string why = "got " + quote_value(text);
  auto fail = [&]() -> ParamValue {
    throw ConfigError::for_key(spec.key, expected_text(spec) + ", " + why + context);
  };
  switch (spec.type) {
    case ParamType::kBool:
      if (text == "true") return true;
      if (text == "false") return false;
      return fail();
    case ParamType::kInt:
    case ParamType::kInt64:
      if (auto v = parse_int(text, spec.type == ParamType::kInt, &why)) return *v;
      return fail();
    case ParamType::kDouble:
      if (auto v = parse_double(text, &why)) return *v;
      return fail();
    case ParamType::kString: return text;
    case ParamType::kIntList:
      if (auto v = parse_int_list(text, &why)) return *v;
      return fail();
  }
  return fail();
}

std::string node_kind(const YAML::Node& node) {
  if (node.IsMap()) return "a map";
  if (node.IsSequence()) return "a list";
  if (node.IsNull()) return "an empty value";
  return quote_value(node.Scalar());
}

ParamValue parse_node(const ParamSpec& spec, const YAML::Node& node, const std::string& context) {
  if (node.IsScalar()) return parse_text(spec, node.Scalar(), context);
  if (spec.type == ParamType::kIntList && node.IsSequence()) {
    std::vector<int> out;
    for (const auto& item : node) {
      std::string why = item.IsScalar() ? "" : "got " + node_kind(item);
      std::optional<int64_t> v;
      if (item.IsScalar()) v = parse_int(item.Scalar(), /*is_int32=*/true, &why);
      if (!v) {
        throw ConfigError::for_key(spec.key, expected_text(spec) + ", element " +
                                                 std::to_string(out.size()) + ": " + why +
                                                 context);
      }
      out.push_back(static_cast<int>(*v));
    }
    return out;
  }
  throw ConfigError::for_key(spec.key, expected_text(spec) + ", got " + node_kind(node) + context);
}

// `assigned` holds every key the file set so far, whichever way it was written: train.lr at
// the top level and lr inside train: would otherwise let the later one win without a word.
void apply_yaml_map(Config& config, const YAML::Node& map, const std::string& prefix, const std::string& context,
                    std::set<std::string>& assigned) {
  std::set<std::string> seen;
  for (const auto& kv : map) {
    if (!kv.first.IsScalar()) {
      throw ConfigError::for_key(prefix.empty() ? "<top level>" : prefix,
                                 "map keys must be plain names" + context);
    }
    const std::string name = kv.first.Scalar();
    const std::string key = prefix.empty() ? name : prefix + "." + name;
    if (!seen.insert(name).second) throw ConfigError::for_key(key, "duplicate key" + context);
    if (const ParamSpec* spec = find_param(key)) {
      if (!assigned.insert(key).second) {
        throw ConfigError::for_key(key, "given twice, once as a dotted key and once inside its section" + context);
      }
      const ParamValue value = parse_node(*spec, kv.second, context);
      check_value(*spec, value, context);
      spec->set(config, value);
    } else if (is_section(key)) {
      if (kv.second.IsMap()) {
        apply_yaml_map(config, kv.second, key, context, assigned);
      } else if (!kv.second.IsNull()) {  // an empty section keeps the defaults
        throw ConfigError::for_key(
            key, "expected a map of keys (a section), got " + node_kind(kv.second) + context);
      }
    } else {
      unknown_key(key, context);
    }
  }
}

// data.format and data.interactions.*: the file, distinct column names, the delimiter and a
// rating scale declared whole or not at all.
void validate_interactions(const Config::Data& d) {
  const auto& in = d.interactions;
  if (d.format == "interactions" && in.path.empty()) {
    throw ConfigError::for_key("data.interactions.path",
                               "must name the interactions file (CSV or TSV) when data.format is interactions");
  }
  if (d.format != "interactions" && !in.path.empty()) {
    throw ConfigError::for_key("data.format", "is " + quote_value(d.format) +
                                                  " (a MovieLens release in data.dir) but data.interactions.path "
                                                  "is set: set data.format=interactions to read that file");
  }
  const std::vector<std::pair<const char*, const std::string*>> columns = {
      {"data.interactions.user", &in.user},
      {"data.interactions.item", &in.item},
      {"data.interactions.rating", &in.rating},
      {"data.interactions.timestamp", &in.timestamp}};
  for (size_t i = 0; i < columns.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (!columns[i].second->empty() && *columns[i].second == *columns[j].second) {
        throw ConfigError::for_key(columns[i].first, "names the same column as " + std::string(columns[j].first) +
                                                         " (" + quote_value(*columns[i].second) + ")");
      }
    }
  }
  const std::vector<std::string> delimiters = {"auto", ",", "\t", "\\t", "tab", ";", "|"};
  if (std::find(delimiters.begin(), delimiters.end(), in.delimiter) == delimiters.end()) {
    throw ConfigError::for_key("data.interactions.delimiter",
                               "expected one of auto, \",\", \";\", \"|\", tab (or \"\\t\"); got " +
                                   quote_value(in.delimiter));
  }
  if (in.rating_step == 0) {
    for (const auto& [key, value] : {std::pair<const char*, double>{"data.interactions.rating_min", in.rating_min},
                                     {"data.interactions.rating_max", in.rating_max}}) {
      if (value != 0) {
        throw ConfigError::for_key(key, "is set but data.interactions.rating_step is 0 (infer the scale): "
                                        "declare rating_min, rating_max and rating_step together, or none");
      }
    }
    return;
  }
  if (!(in.rating_max > in.rating_min)) {
    throw ConfigError::for_key("data.interactions.rating_max",
                               "must be > data.interactions.rating_min (" + format_double(in.rating_max) +
                                   " <= " + format_double(in.rating_min) + ")");
  }
  const double steps = (in.rating_max - in.rating_min) / in.rating_step;
  if (std::fabs(steps - std::round(steps)) > 1e-4) {
    throw ConfigError::for_key("data.interactions.rating_step",
                               "rating_max - rating_min (" + format_double(in.rating_max - in.rating_min) +
                                   ") must be a whole number of steps of " + format_double(in.rating_step));
  }
  for (const auto& [key, table] : {std::pair<const char*, const std::string*>{"data.interactions.user_table", &in.user_table},
                                   {"data.interactions.item_table", &in.item_table}}) {
    if (!table->empty() && d.format != "interactions") {
      throw ConfigError::for_key(key, "is a table of your own data: set data.format=interactions");
    }
  }
}

void validate_cross_keys(const Config& c) {
  validate_interactions(c.data);
  if (!c.blend.members.empty() && c.data.test_per_user == 0) {
    throw ConfigError::for_key("data.test_per_user",
                               "must be > 0 in a blend (blend.members): a blend is fitted on validation and "
                               "reported on test");
  }
  if (c.model.embedding_dim % c.model.heads != 0) {
    throw ConfigError::for_key(
        "model.embedding_dim",
        "must be divisible by model.heads (" + std::to_string(c.model.embedding_dim) + " % " +
            std::to_string(c.model.heads) + " != 0)");
  }
  if (c.train.cycle_momentum && c.train.base_momentum > c.train.max_momentum) {
    throw ConfigError::for_key("train.base_momentum",
                               "must be <= train.max_momentum (" +
                                   format_double(c.train.base_momentum) + " > " +
                                   format_double(c.train.max_momentum) + ")");
  }
}

Config from_yaml_node(const YAML::Node& root, const std::vector<std::string>& overrides,
                      const std::string& source_name) {
  Config config = default_config();
  if (root.IsMap()) {
    std::set<std::string> assigned;
    apply_yaml_map(config, root, "", " (in " + source_name + ")", assigned);
  } else if (!root.IsNull()) {
    throw InputError::in(source_name, "expected a map of config sections at the top level");
  }
  apply_overrides(config, overrides);
  validate(config);
  return config;
}

YAML::Node parse_yaml(const std::string& text, const std::string& source_name) {
  try {
    // All documents, so that a second one ('---') is refused rather than silently ignored.
    const std::vector<YAML::Node> documents = YAML::LoadAll(text);
    if (documents.size() > 1) {
      throw InputError::at(source_name, documents[1].Mark().line + 1,
                           "a second YAML document ('---'): a configuration is one document");
    }
    return documents.empty() ? YAML::Node() : documents.front();
  } catch (const YAML::Exception& e) {
    if (!e.mark.is_null()) throw InputError::at(source_name, e.mark.line + 1, e.msg);
    throw InputError::in(source_name, e.msg);
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// ParamSpec

std::string ParamSpec::section() const { return key.substr(0, key.find('.')); }

std::string ParamSpec::type_name() const {
  switch (type) {
    case ParamType::kBool: return "bool";
    case ParamType::kInt:
    case ParamType::kInt64: return "int";
    case ParamType::kDouble: return "float";
    case ParamType::kString: return "string";
    case ParamType::kIntList: return "int list";
  }
  return "?";
}

std::string ParamSpec::range_text() const {
  if (type == ParamType::kString) {
    if (!allowed.empty()) return "one of: " + join(allowed, ", ");
    return allow_empty ? "" : "non-empty";
  }
  const std::string r = numeric_range_text(*this);
  if (type == ParamType::kIntList) {
    return std::string(allow_empty ? "" : "non-empty, ") + "each " + (r.empty() ? "any" : r);
  }
  return r;
}

std::string ParamSpec::default_text() const { return format_value(get(Config{})); }

// ---------------------------------------------------------------------------------------------
// Public API

const std::vector<ParamSpec>& param_specs() {
  static const std::vector<ParamSpec> specs = build_param_table();
  return specs;
}

const ParamSpec* find_param(const std::string& key) {
  for (const auto& s : param_specs()) {
    if (s.key == key) return &s;
  }
  return nullptr;
}

Config default_config() { return Config{}; }

Precision precision_of(const Config::Train& train) {
  if (train.precision == "tf32") return Precision::kTf32;
  if (train.precision == "bf16") return Precision::kBf16;
  if (train.precision == "fp32") return Precision::kFp32;
  throw ConfigError::for_key("train.precision", "expected one of fp32, tf32, bf16; got " + quote_value(train.precision));
}

void set_param(Config& config, const std::string& key, const std::string& text) {
  const ParamSpec* spec = find_param(key);
  if (!spec) {
    if (is_section(key)) throw ConfigError::for_key(key, "is a section, not a key");
    unknown_key(key, "");
  }
  std::string value = trim(text);
  if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
      value.back() == value.front()) {
    value = value.substr(1, value.size() - 2);  // --set 'data.dir="my dir"'
  }
  const ParamValue parsed = parse_text(*spec, value, "");
  check_value(*spec, parsed, "");
  spec->set(config, parsed);
}

void apply_overrides(Config& config, const std::vector<std::string>& overrides) {
  for (const auto& ov : overrides) {
    const auto eq = ov.find('=');
    const std::string key = eq == std::string::npos ? "" : trim(ov.substr(0, eq));
    if (key.empty()) {
      throw ConfigError("malformed override " + quote_value(ov) + ": expected KEY=VALUE (e.g. train.lr=0.01)");
    }
    try {
      set_param(config, key, ov.substr(eq + 1));
    } catch (const ConfigError& e) {
      throw ConfigError(std::string(e.what()) + " (in override " + quote_value(ov) + ")");
    }
  }
}

std::string param_text(const Config& config, const std::string& key) {
  const ParamSpec* spec = find_param(key);
  if (!spec) unknown_key(key, "");
  return format_value(spec->get(config));
}

bool is_data_location_or_storage_key(const std::string& key) {
  return key == "data.dir" || key == "data.interactions.path" || key == "data.cache_dir" || key == "data.windows" ||
         key == "data.materialize_limit_mb";
}

void validate(const Config& config) {
  for (const auto& spec : param_specs()) check_value(spec, spec.get(config), "");
  validate_cross_keys(config);
}

Config config_from_yaml_string(const std::string& yaml_text,
                               const std::vector<std::string>& overrides,
                               const std::string& source_name) {
  return from_yaml_node(parse_yaml(yaml_text, source_name), overrides, source_name);
}

Config load_config(const std::string& yaml_path, const std::vector<std::string>& overrides) {
  if (yaml_path.empty()) {
    Config config = default_config();
    apply_overrides(config, overrides);
    validate(config);
    return config;
  }
  const YAML::Node root = parse_yaml(read_file(yaml_path, "config file"), yaml_path);
  if (root.IsNull() || (root.IsMap() && root.size() == 0)) {
    // Most likely a mistake (the wrong file, or every line commented out): say so, once.
    log_rank0(yaml_path + " holds no settings: every key takes its default (mlrec_dist --help-config lists them)");
  }
  return from_yaml_node(root, overrides, yaml_path);
}

std::string to_yaml(const Config& config) {
  YAML::Emitter out;
  out << YAML::BeginMap;
  std::string current;
  for (const auto& spec : param_specs()) {
    const std::string sec = spec.section();
    if (sec != current) {
      if (!current.empty()) out << YAML::EndMap;
      out << YAML::Key << sec << YAML::Value << YAML::BeginMap;
      current = sec;
    }
    out << YAML::Key << spec.key.substr(sec.size() + 1) << YAML::Value;
    const ParamValue v = spec.get(config);
    switch (spec.type) {
      case ParamType::kBool: out << std::get<bool>(v); break;
      case ParamType::kInt:
      case ParamType::kInt64: out << static_cast<long long>(std::get<int64_t>(v)); break;
      case ParamType::kDouble: out << format_double(std::get<double>(v)); break;
      case ParamType::kString: out << YAML::DoubleQuoted << std::get<std::string>(v); break;
      case ParamType::kIntList: {
        out << YAML::Flow << YAML::BeginSeq;
        for (int i : std::get<std::vector<int>>(v)) out << i;
        out << YAML::EndSeq;
        break;
      }
    }
  }
  if (!current.empty()) out << YAML::EndMap;
  out << YAML::EndMap;
  return std::string("# mlrec resolved configuration (every key; see --help)\n") + out.c_str() +
         "\n";
}

std::string help_text() {
  std::ostringstream os;
  os << "Configuration keys (set them in the YAML config file, nested by section, or with\n"
        "--set KEY=VALUE; int lists as --set model.mlp_dims=[64,32]):\n";
  std::string current;
  for (const auto& spec : param_specs()) {
    if (spec.section() != current) {
      current = spec.section();
      os << "\n" << current << ":\n";
    }
    os << "  " << spec.key << " (" << spec.type_name() << ", default " << spec.default_text();
    const std::string range = spec.range_text();
    if (!range.empty()) os << "; " << range;
    os << ")\n      " << spec.help << "\n";
  }
  return os.str();
}

}  // namespace mlrec::config
