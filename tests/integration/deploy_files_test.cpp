// The deployment files (docs/deployment.md): every YAML under docker/ and config/topology/
// parses, every hlscache config there (and every `role:` example in the doc) passes
// `hlscache --check-config`, the tiers point at each other (compose service names,
// topology ports, the Kubernetes headless Service), the Kubernetes objects carry their
// probes, limits and security settings — and tools/topology really starts the five
// processes on free loopback ports, serves a playlist and a segment through both
// edges, and stops exactly what it started.
#include <gtest/gtest.h>
#include <yaml-cpp/yaml.h>

#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "local_test_util.hpp"
#include "support/daemon.hpp"
#include "support/http_client.hpp"

namespace hlscache::test {
namespace {

namespace fs = std::filesystem;

const fs::path kSource = HLSCACHE_SOURCE_DIR;

std::vector<fs::path> yaml_files_under(const fs::path& dir) {
  std::vector<fs::path> out;
  if (!fs::is_directory(dir)) return out;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file() && (e.path().extension() == ".yaml" || e.path().extension() == ".yml"))
      out.push_back(e.path());
  std::sort(out.begin(), out.end());
  return out;
}

std::string rel(const fs::path& p) { return fs::relative(p, kSource).string(); }

// "host:port" -> {host, port}; "" host if malformed.
std::pair<std::string, int> split_hostport(const std::string& s) {
  const auto colon = s.rfind(':');
  if (colon == std::string::npos) return {"", 0};
  return {s.substr(0, colon), std::atoi(s.c_str() + colon + 1)};
}

// Every upstream host address of every group of a config ({address:} or a plain scalar).
std::vector<std::string> upstream_hosts(const YAML::Node& cfg, const std::string& group) {
  std::vector<std::string> out;
  const YAML::Node hosts = cfg["upstream"]["groups"][group]["hosts"];
  if (!hosts) return out;
  for (const auto& h : hosts) out.push_back(h.IsMap() ? h["address"].as<std::string>() : h.as<std::string>());
  return out;
}

std::string listen_address(const YAML::Node& cfg) { return cfg["listen"][0]["address"].as<std::string>(); }

TEST(DeployFiles, EveryYamlFileParses) {
  std::size_t files = 0;
  for (const char* dir : {"docker", "config/topology"}) {
    for (const auto& path : yaml_files_under(kSource / dir)) {
      SCOPED_TRACE(rel(path));
      ++files;
      std::vector<YAML::Node> docs;
      try {
        docs = YAML::LoadAllFromFile(path.string());
      } catch (const YAML::Exception& e) {
        ADD_FAILURE() << rel(path) << " does not parse: " << e.what();
        continue;
      }
      EXPECT_FALSE(docs.empty()) << rel(path) << " holds no YAML document";
      for (const auto& d : docs) EXPECT_TRUE(d.IsMap()) << rel(path) << ": every document is a mapping";
    }
  }
  // docker-compose.yml, 3 docker/config, 4 kubernetes + 3 kubernetes/config, 5 topology.
  EXPECT_GE(files, 16u);
}

TEST(DeployFiles, EveryHlscacheConfigPassesCheckConfig) {
  const std::map<std::string, std::vector<std::string>> expected = {
      {"config/topology", {"edge-1.yaml", "edge-2.yaml", "local.yaml", "origin-1.yaml", "origin-2.yaml"}},
      {"docker/config", {"edge.yaml", "origin.yaml", "segmenter.yaml"}},
      {"docker/kubernetes/config", {"edge.yaml", "origin.yaml", "segmenter.yaml"}},
  };
  for (const auto& [dir, names] : expected) {
    std::vector<std::string> found;
    for (const auto& path : yaml_files_under(kSource / dir)) found.push_back(path.filename().string());
    EXPECT_EQ(found, names) << dir;
    for (const auto& path : yaml_files_under(kSource / dir)) {
      SCOPED_TRACE(rel(path));
      auto r = run_hlscache({"--check-config", path.string()});
      EXPECT_EQ(r.exit_code, 0) << rel(path) << " is rejected:\n" << r.err;
      EXPECT_EQ(r.err.find("warning"), std::string::npos) << rel(path) << ": " << r.err;
      // The normalized output names the role the file's name says.
      const auto doc = YAML::LoadFile(path.string());
      EXPECT_NE(r.out.find("role: " + doc["role"].as<std::string>()), std::string::npos) << r.out;
    }
  }
}

// The example configs at the top of config/ (the README's, the load test's) pass too.
TEST(DeployFiles, ExampleConfigsPassCheckConfig) {
  std::vector<std::string> names;
  for (const auto& e : fs::directory_iterator(kSource / "config"))
    if (e.is_regular_file() && e.path().extension() == ".yaml") names.push_back(e.path().filename().string());
  std::sort(names.begin(), names.end());
  EXPECT_EQ(names, (std::vector<std::string>{"edge.yaml", "load-test.yaml", "local.yaml", "origin.yaml"}));
  for (const auto& n : names) {
    auto r = run_hlscache({"--check-config", (kSource / "config" / n).string()});
    EXPECT_EQ(r.exit_code, 0) << "config/" << n << " is rejected:\n" << r.err;
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << "config/" << n << ": " << r.err;
  }
}

TEST(DeployFiles, DocExamplesPassCheckConfig) {
  const std::string doc = read_file((kSource / "docs/deployment.md").string());
  ASSERT_FALSE(doc.empty());
  std::size_t examples = 0, pos = 0;
  while ((pos = doc.find("```yaml\n", pos)) != std::string::npos) {
    const auto start = pos + 8;
    const auto end = doc.find("```", start);
    ASSERT_NE(end, std::string::npos) << "unterminated yaml block";
    const std::string yaml = doc.substr(start, end - start);
    pos = end + 3;
    if (yaml.find("\nrole: ") == std::string::npos && yaml.rfind("role: ", 0) != 0) continue;
    ++examples;
    auto r = check_config(yaml);
    EXPECT_EQ(r.exit_code, 0) << "docs/deployment.md example rejected:\n" << yaml << "\n" << r.err;
    // A cache whose shards cannot hold a segment is a trap, not an example.
    EXPECT_EQ(r.err.find("warning"), std::string::npos) << "docs/deployment.md example:\n" << yaml << "\n" << r.err;
  }
  EXPECT_GE(examples, 1u) << "the proxy-layer config example is gone";
}

TEST(DeployFiles, TopologyTiersPointAtEachOther) {
  auto load = [](const char* name) { return YAML::LoadFile((kSource / "config/topology" / name).string()); };
  const auto local = load("local.yaml"), o1 = load("origin-1.yaml"), o2 = load("origin-2.yaml"),
             e1 = load("edge-1.yaml"), e2 = load("edge-2.yaml");
  EXPECT_EQ(local["role"].as<std::string>(), "local");
  // tools/topology's default ports are the ones the configs listen on.
  const std::string script = read_file((kSource / "tools/topology").string());
  for (const auto& [cfg, port] : std::vector<std::pair<YAML::Node, std::string>>{
           {local, "18080"}, {o1, "18101"}, {o2, "18102"}, {e1, "18201"}, {e2, "18202"}}) {
    EXPECT_EQ(listen_address(cfg), "127.0.0.1:" + port);
    EXPECT_NE(script.find("=" + port), std::string::npos) << "tools/topology does not default to " << port;
  }
  for (const auto& o : {o1, o2}) {
    EXPECT_EQ(o["role"].as<std::string>(), "origin");
    EXPECT_EQ(upstream_hosts(o, "broadcast"), std::vector<std::string>{listen_address(local)});
  }
  const std::vector<std::string> ring{listen_address(o1), listen_address(o2)};
  for (const auto& e : {e1, e2}) {
    EXPECT_EQ(e["role"].as<std::string>(), "edge");
    EXPECT_EQ(upstream_hosts(e, "origin"), ring);
    EXPECT_EQ(e["upstream"]["groups"]["origin"]["hash"].as<std::string>(), "segment");
    EXPECT_EQ(e["upstream"]["routes"][0]["prefix"].as<std::string>(), "/live/");
  }
}

TEST(DeployFiles, ComposeHostsAreServiceNames) {
  const auto compose = YAML::LoadFile((kSource / "docker/docker-compose.yml").string());
  const auto services = compose["services"];
  ASSERT_TRUE(services.IsMap());
  std::set<std::string> names;
  for (const auto& s : services) names.insert(s.first.as<std::string>());
  for (const char* n : {"samples", "segmenter", "origin-1", "origin-2", "edge-1", "edge-2"})
    EXPECT_TRUE(names.count(n)) << "compose has no service " << n;

  // Each daemon service's config: the file mounted at /etc/hlscache/hlscache.yaml.
  std::map<std::string, YAML::Node> config_of;
  for (const auto& s : services) {
    const std::string name = s.first.as<std::string>();
    for (const auto& v : s.second["volumes"]) {
      const std::string spec = v.as<std::string>();
      const auto colon = spec.find(':');
      if (spec.find(":/etc/hlscache/hlscache.yaml") == std::string::npos) continue;
      const fs::path file = kSource / "docker" / spec.substr(0, colon);
      ASSERT_TRUE(fs::exists(file)) << name << " mounts a missing " << file;
      config_of[name] = YAML::LoadFile(file.string());
    }
  }
  for (const char* n : {"segmenter", "origin-1", "origin-2", "edge-1", "edge-2"})
    ASSERT_TRUE(config_of.count(n)) << n << " mounts no config at /etc/hlscache/hlscache.yaml";

  // Every upstream host is a compose service, on the port that service's config listens on.
  for (const auto& [name, cfg] : config_of) {
    if (!cfg["upstream"]) continue;
    for (const auto& g : cfg["upstream"]["groups"]) {
      for (const auto& host : upstream_hosts(cfg, g.first.as<std::string>())) {
        SCOPED_TRACE(name + " -> " + host);
        const auto [h, port] = split_hostport(host);
        ASSERT_TRUE(config_of.count(h)) << "'" << h << "' is not a compose daemon service";
        EXPECT_EQ(split_hostport(listen_address(config_of[h])).second, port);
      }
    }
  }
  EXPECT_EQ(upstream_hosts(config_of["edge-1"], "origin"), (std::vector<std::string>{"origin-1:8080", "origin-2:8080"}));
  EXPECT_EQ(upstream_hosts(config_of["origin-1"], "broadcast"), std::vector<std::string>{"segmenter:8080"});
  // The segmenter's samples come from the volume the samples service fills.
  const std::string sample = config_of["segmenter"]["streams"][0]["renditions"][0]["source"]["file"].as<std::string>();
  bool mounted = false;
  for (const auto& v : services["segmenter"]["volumes"]) {
    const std::string spec = v.as<std::string>();
    const auto first = spec.find(':'), second = spec.find(':', first + 1);
    const std::string target = spec.substr(first + 1, second == std::string::npos ? std::string::npos : second - first - 1);
    if (spec.rfind("samples:", 0) == 0 && sample.rfind(target + "/", 0) == 0) mounted = true;
  }
  EXPECT_TRUE(mounted) << sample << " is not on the samples volume";
  EXPECT_EQ(services["segmenter"]["depends_on"]["samples"]["condition"].as<std::string>(),
            "service_completed_successfully");
}

TEST(DeployFiles, KubernetesObjects) {
  const fs::path dir = kSource / "docker/kubernetes";
  const auto kustomization = YAML::LoadFile((dir / "kustomization.yaml").string());
  const std::string ns = kustomization["namespace"].as<std::string>();

  std::set<std::string> generated;  // ConfigMap names from configMapGenerator, whose files exist
  for (const auto& g : kustomization["configMapGenerator"]) {
    generated.insert(g["name"].as<std::string>());
    for (const auto& f : g["files"]) {
      const std::string spec = f.as<std::string>();
      const fs::path file = dir / spec.substr(spec.find('=') + 1);
      EXPECT_TRUE(fs::exists(file)) << file;
      EXPECT_EQ(spec.substr(0, spec.find('=')), "hlscache.yaml");
    }
  }
  EXPECT_EQ(generated, (std::set<std::string>{"hlscache-segmenter", "hlscache-origin", "hlscache-edge"}));

  std::map<std::string, YAML::Node> objects;  // "Kind/name"
  for (const auto& r : kustomization["resources"]) {
    for (const auto& d : YAML::LoadAllFromFile((dir / r.as<std::string>()).string()))
      objects[d["kind"].as<std::string>() + "/" + d["metadata"]["name"].as<std::string>()] = d;
  }
  for (const char* o : {"Namespace/hls", "Deployment/hlscache-segmenter", "Service/hlscache-segmenter",
                        "StatefulSet/hlscache-origin", "Service/hlscache-origin", "Deployment/hlscache-edge",
                        "Service/hlscache-edge"})
    EXPECT_TRUE(objects.count(o)) << "missing " << o;
  EXPECT_EQ(ns, "hls");

  for (const auto& [id, obj] : objects) {
    if (obj["kind"].as<std::string>() != "Deployment" && obj["kind"].as<std::string>() != "StatefulSet") continue;
    SCOPED_TRACE(id);
    const auto pod = obj["spec"]["template"]["spec"];
    EXPECT_TRUE(pod["securityContext"]["runAsNonRoot"].as<bool>());
    EXPECT_NE(pod["securityContext"]["runAsUser"].as<int>(), 0);
    for (const char* list : {"initContainers", "containers"}) {
      for (const auto& c : pod[list]) {
        SCOPED_TRACE(c["name"].as<std::string>());
        EXPECT_TRUE(c["securityContext"]["readOnlyRootFilesystem"].as<bool>());
        EXPECT_FALSE(c["securityContext"]["allowPrivilegeEscalation"].as<bool>());
        EXPECT_TRUE(c["resources"]["requests"]["memory"]) << "no memory request";
        EXPECT_TRUE(c["resources"]["limits"]["memory"]) << "no memory limit";
        EXPECT_TRUE(c["resources"]["limits"]["cpu"]) << "no cpu limit";
        if (std::string(list) == "containers") {
          EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
          EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
        }
      }
    }
    // The config volume is one of the generated ConfigMaps.
    bool has_config = false;
    for (const auto& v : pod["volumes"])
      if (v["configMap"]) has_config = generated.count(v["configMap"]["name"].as<std::string>()) > 0;
    EXPECT_TRUE(has_config);
  }

  // Origins: a StatefulSet of 2 behind the headless Service the edges resolve.
  const auto sts = objects["StatefulSet/hlscache-origin"];
  EXPECT_EQ(sts["spec"]["replicas"].as<int>(), 2);
  const std::string svc = sts["spec"]["serviceName"].as<std::string>();
  EXPECT_EQ(objects["Service/" + svc]["spec"]["clusterIP"].as<std::string>(), "None");
  // Upstream names are bare Service names, resolved in the pod's own namespace (its DNS
  // search list), so the objects work in any namespace and cluster domain.
  const auto edge = YAML::LoadFile((dir / "config/edge.yaml").string());
  EXPECT_EQ(edge["upstream"]["groups"]["origin"]["dns"].as<std::string>(), svc + ":8080");
  EXPECT_EQ(objects["Deployment/hlscache-edge"]["spec"]["replicas"].as<int>(), 2);
  EXPECT_EQ(objects["Service/hlscache-edge"]["spec"]["type"].as<std::string>(), "NodePort");
  // Origins fetch from the segmenter's Service.
  const auto origin = YAML::LoadFile((dir / "config/origin.yaml").string());
  EXPECT_EQ(upstream_hosts(origin, "broadcast"), std::vector<std::string>{"hlscache-segmenter:8080"});
}

// A duration as hlscache configs write them ("5s", "500ms", "1m"); `fallback` if absent.
double seconds_of(const YAML::Node& n, double fallback) {
  if (!n) return fallback;
  const std::string s = n.as<std::string>();
  const double v = std::atof(s.c_str());
  if (s.ends_with("ms")) return v / 1000;
  if (s.ends_with("m")) return v * 60;
  if (s.ends_with("h")) return v * 3600;
  return v;
}

// The preStop pause of a pod template's first container (exec: sleep N), 0 if none.
double prestop_sleep(const YAML::Node& pod) {
  const auto cmd = pod["containers"][0]["lifecycle"]["preStop"]["exec"]["command"];
  if (!cmd || cmd.size() != 2 || cmd[0].as<std::string>() != "sleep") return 0;
  return std::atof(cmd[1].as<std::string>().c_str());
}

std::map<std::string, YAML::Node> kubernetes_objects() {
  const fs::path dir = kSource / "docker/kubernetes";
  std::map<std::string, YAML::Node> objects;
  for (const auto& r : YAML::LoadFile((dir / "kustomization.yaml").string())["resources"])
    for (const auto& d : YAML::LoadAllFromFile((dir / r.as<std::string>()).string()))
      objects[d["kind"].as<std::string>() + "/" + d["metadata"]["name"].as<std::string>()] = d;
  return objects;
}

// docs/deployment.md "Draining an origin": an edge drops a terminating origin from its ring
// within endpoints propagation (2 s assumed) + the DNS TTL (CoreDNS: 5 s) + its own
// dns_interval; the origin's preStop pause must outlast that, so no new request reaches
// it after SIGTERM. Every pod's grace period must cover its preStop pause and its drain.
TEST(DeployFiles, KubernetesDrainTimingAgrees) {
  const fs::path dir = kSource / "docker/kubernetes";
  auto objects = kubernetes_objects();
  const auto edge = YAML::LoadFile((dir / "config/edge.yaml").string());
  const double dns_interval = seconds_of(edge["upstream"]["groups"]["origin"]["dns_interval"], 10);
  constexpr double kEndpoints = 2, kDnsTtl = 5;
  const auto origin_pod = objects["StatefulSet/hlscache-origin"]["spec"]["template"]["spec"];
  EXPECT_GE(prestop_sleep(origin_pod), kEndpoints + kDnsTtl + dns_interval)
      << "an edge may still send new requests to an origin after its SIGTERM";
  const std::map<std::string, std::string> config_of = {{"Deployment/hlscache-edge", "config/edge.yaml"},
                                                        {"StatefulSet/hlscache-origin", "config/origin.yaml"},
                                                        {"Deployment/hlscache-segmenter", "config/segmenter.yaml"}};
  for (const auto& [id, file] : config_of) {
    SCOPED_TRACE(id);
    ASSERT_TRUE(objects.count(id));
    const auto pod = objects[id]["spec"]["template"]["spec"];
    const double drain = seconds_of(YAML::LoadFile((dir / file).string())["timeouts"]["drain"], 10);
    EXPECT_GE(prestop_sleep(pod), 5) << "the Service needs a few seconds to stop routing to the pod";
    EXPECT_GE(pod["terminationGracePeriodSeconds"].as<double>(), prestop_sleep(pod) + drain + 1)
        << "the kubelet would SIGKILL the pod before its drain ends";
    // Probes: liveness stays 200 while draining or shedding; readiness turns 503.
    const auto c = pod["containers"][0];
    EXPECT_EQ(c["readinessProbe"]["httpGet"]["path"].as<std::string>(), "/readyz");
    EXPECT_EQ(c["livenessProbe"]["httpGet"]["path"].as<std::string>(), "/healthz");
  }
}

// The hlscache configs inside the rendered ConfigMaps name their upstreams by Services
// of the same rendering, with no namespace or cluster domain of their own; each passes
// --check-config. `objects`: every rendered object; `ns`: the namespace they must be in.
void expect_self_contained(const std::vector<YAML::Node>& objects, const std::string& ns) {
  std::set<std::string> services;
  std::vector<std::pair<std::string, std::string>> configs;  // ConfigMap name, hlscache.yaml
  for (const auto& o : objects) {
    const std::string kind = o["kind"].as<std::string>(), name = o["metadata"]["name"].as<std::string>();
    SCOPED_TRACE(kind + "/" + name);
    if (kind == "Namespace") EXPECT_EQ(name, ns);
    else EXPECT_EQ(o["metadata"]["namespace"].as<std::string>(""), ns);
    if (kind == "Service") services.insert(name);
    if (kind == "ConfigMap") configs.emplace_back(name, o["data"]["hlscache.yaml"].as<std::string>());
  }
  ASSERT_EQ(configs.size(), 3u);
  std::size_t upstreams = 0;
  for (const auto& [name, text] : configs) {
    SCOPED_TRACE(name);
    EXPECT_EQ(text.find(".svc"), std::string::npos) << "a cluster-qualified name pins a namespace:\n" << text;
    const auto cfg = YAML::Load(text);
    if (cfg["upstream"]) {
      for (const auto& g : cfg["upstream"]["groups"]) {
        std::vector<std::string> names = upstream_hosts(cfg, g.first.as<std::string>());
        if (g.second["dns"]) names.push_back(g.second["dns"].as<std::string>());
        for (const auto& hp : names) {
          ++upstreams;
          const auto [host, port] = split_hostport(hp);
          EXPECT_EQ(host.find('.'), std::string::npos) << hp << " is not a bare Service name";
          EXPECT_TRUE(services.count(host)) << hp << " names no Service of this rendering";
          EXPECT_EQ(port, 8080);
        }
      }
    }
    auto r = check_config(text);
    EXPECT_EQ(r.exit_code, 0) << r.err;
  }
  EXPECT_EQ(upstreams, 2u) << "edge -> hlscache-origin, origin -> hlscache-segmenter";
}

TEST(DeployFiles, KubernetesRendersIntoAnotherNamespace) {
  const std::string ns = "video-test";
  const std::string tmp = make_temp_dir("hlscache-kustomize-");
  const fs::path base = fs::path(tmp) / "base", overlay = fs::path(tmp) / "overlay";
  fs::copy(kSource / "docker/kubernetes", base, fs::copy_options::recursive);
  fs::create_directories(overlay);
  // An overlay that only moves everything into another namespace.
  write_file((overlay / "kustomization.yaml").string(),
             "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: " + ns +
                 "\nresources: [../base]\n");
  auto rendered = run_command({"kubectl", "kustomize", overlay.string()}, std::chrono::seconds(60));
  std::vector<YAML::Node> objects;
  if (rendered.exit_code == 0) {
    objects = YAML::LoadAll(rendered.out);
    EXPECT_EQ(rendered.out.find(".hls."), std::string::npos) << "the old namespace is still named somewhere";
  } else {
    // No kubectl (kustomize) here: the same checks on the files as kustomize would combine
    // them — the namespace set on every object, ConfigMaps from configMapGenerator.
    std::cout << "[ kustomize] kubectl kustomize unavailable (" << rendered.err.substr(0, 200)
              << "); checking the files themselves\n";
    const fs::path dir = kSource / "docker/kubernetes";
    const auto k = YAML::LoadFile((dir / "kustomization.yaml").string());
    for (const auto& [id, o] : kubernetes_objects()) {
      YAML::Node copy = YAML::Clone(o);
      if (copy["kind"].as<std::string>() == "Namespace") copy["metadata"]["name"] = ns;
      else copy["metadata"]["namespace"] = ns;
      objects.push_back(copy);
    }
    for (const auto& g : k["configMapGenerator"]) {
      const std::string spec = g["files"][0].as<std::string>();
      YAML::Node cm;
      cm["kind"] = "ConfigMap";
      cm["metadata"]["name"] = g["name"].as<std::string>();
      cm["metadata"]["namespace"] = ns;
      cm["data"]["hlscache.yaml"] = read_file((dir / spec.substr(spec.find('=') + 1)).string());
      objects.push_back(cm);
    }
  }
  expect_self_contained(objects, ns);
  remove_tree(tmp);
}

// ---- tools/topology end to end ------------------------------------------------------

// True while pid is a live process (a zombie waiting for its reaper counts as ended).
bool alive(pid_t pid) {
  const std::string stat = read_file("/proc/" + std::to_string(pid) + "/stat");
  if (stat.empty()) return false;
  const auto close = stat.rfind(')');
  return close != std::string::npos && close + 2 < stat.size() && stat[close + 2] != 'Z';
}

// The sum of every sample of a metric family, whatever its labels.
double metric_sum(const std::string& exposition, const std::string& name) {
  double sum = 0;
  std::istringstream in(exposition);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name, 0) != 0 || line.size() <= name.size()) continue;
    if (line[name.size()] != ' ' && line[name.size()] != '{') continue;
    sum += std::atof(line.c_str() + line.rfind(' ') + 1);
  }
  return sum;
}

bool have_curl() { return run_command({"curl", "--version"}, std::chrono::seconds(5)).exit_code == 0; }

class DeployTopology : public ::testing::Test {
 protected:
  void SetUp() override {
    tmp_ = make_temp_dir("hlscache-topology-");
    run_dir_ = tmp_ + "/run";
    for (const char* n : {"LOCAL", "ORIGIN1", "ORIGIN2", "EDGE1", "EDGE2"}) {
      const auto p = free_tcp_port();
      ASSERT_NE(p, 0);
      ports_[n] = p;
      env_.push_back(std::string("TOPOLOGY_") + n + "_PORT=" + std::to_string(p));
    }
    env_.push_back("TOPOLOGY_RUN_DIR=" + run_dir_);
    env_.push_back("TOPOLOGY_SAMPLES=" + tmp_ + "/samples");
    env_.push_back(std::string("HLSCACHE_BIN=") + daemon_binary());
    env_.push_back("TOPOLOGY_STOP_TIMEOUT=10");
  }
  void TearDown() override {
    if (started_) topology("stop");  // after a failed assertion: never leave daemons behind
    remove_tree(tmp_);
  }

  CommandResult topology(const std::string& command, std::chrono::milliseconds timeout = std::chrono::seconds(30)) {
    std::vector<std::string> args{"env"};
    args.insert(args.end(), env_.begin(), env_.end());
    args.push_back((kSource / "tools/topology").string());
    args.push_back(command);
    return run_command(args, timeout);
  }

  std::vector<pid_t> recorded_pids() const {
    std::vector<pid_t> pids;
    for (const char* n : {"local", "origin-1", "origin-2", "edge-1", "edge-2"}) {
      const std::string s = read_file(run_dir_ + "/" + n + ".pid");
      if (!s.empty()) pids.push_back(std::atoi(s.c_str()));
    }
    return pids;
  }

  std::string tmp_, run_dir_;
  std::map<std::string, std::uint16_t> ports_;
  std::vector<std::string> env_;
  bool started_ = false;
};

// The master playlist, a media playlist and its first segment through one edge.
HttpResponse fetch_first_segment(std::uint16_t edge, std::string* uri_out) {
  auto master = get(edge, "/live/test/index.m3u8", {}, 10s);
  EXPECT_EQ(master.status, 200) << master.describe();
  auto variants = parse_master_playlist(master.body);
  if (!variants || variants->empty()) {
    ADD_FAILURE() << "not a master playlist:\n" << master.body;
    return {};
  }
  const std::string media_path = "/live/test/" + variants->front().uri;
  auto media = get(edge, media_path, {}, 10s);
  EXPECT_EQ(media.status, 200) << media.describe();
  auto pl = parse_media_playlist(media.body);
  if (!pl.valid || pl.entries.empty()) {
    ADD_FAILURE() << "no segment in " << media_path << ":\n" << media.body;
    return {};
  }
  const std::string seg_path = media_path.substr(0, media_path.rfind('/') + 1) + pl.entries.front().uri;
  auto seg = get(edge, seg_path, {}, 10s);
  EXPECT_EQ(seg.status, 200) << seg_path << ": " << seg.describe();
  EXPECT_EQ(seg.header("Content-Type").value_or(""), "video/mp2t");
  if (uri_out) *uri_out = seg_path;
  return seg;
}

TEST_F(DeployTopology, StartServesThroughBothEdgesAndStopLeavesNothing) {
  LOCAL_REQUIRE_FFMPEG();
  if (!have_curl()) GTEST_SKIP() << "curl not on PATH: tools/topology needs it to wait for /readyz";
  // Short samples instead of make-samples.sh's 10 s encodes, so the test stays quick.
  fs::create_directories(tmp_ + "/samples");
  const std::string hi = make_clip(4.0, 320, 180), lo = make_clip(4.0, 160, 96);
  ASSERT_FALSE(hi.empty());
  ASSERT_FALSE(lo.empty());
  fs::copy_file(hi, tmp_ + "/samples/test-720p.ts");
  fs::copy_file(lo, tmp_ + "/samples/test-360p.ts");

  started_ = true;
  auto start = topology("start");
  ASSERT_EQ(start.exit_code, 0) << start.out << start.err;
  for (const char* e : {"EDGE1", "EDGE2"})
    EXPECT_NE(start.out.find("http://127.0.0.1:" + std::to_string(ports_[e]) + "/live/test/index.m3u8"),
              std::string::npos)
        << start.out;
  const auto pids = recorded_pids();
  ASSERT_EQ(pids.size(), 5u);
  for (pid_t p : pids) EXPECT_TRUE(alive(p)) << p;
  // The rendered configs point at the overridden ports.
  const auto edge_cfg = YAML::LoadFile(run_dir_ + "/edge-1.yaml");
  EXPECT_EQ(upstream_hosts(edge_cfg, "origin"),
            (std::vector<std::string>{"127.0.0.1:" + std::to_string(ports_["ORIGIN1"]),
                                      "127.0.0.1:" + std::to_string(ports_["ORIGIN2"])}));

  auto again = topology("start");
  EXPECT_NE(again.exit_code, 0) << "a second start while running must refuse";
  auto status = topology("status");
  EXPECT_EQ(status.exit_code, 0) << status.out << status.err;

  std::string uri1, uri2;
  const auto seg1 = fetch_first_segment(ports_["EDGE1"], &uri1);
  ASSERT_FALSE(seg1.body.empty());
  EXPECT_EQ(static_cast<unsigned char>(seg1.body[0]), 0x47) << "not MPEG-TS";
  const auto seg2 = fetch_first_segment(ports_["EDGE2"], &uri2);
  ASSERT_FALSE(seg2.body.empty());
  if (uri1 == uri2) {  // the first listed segment: the same one unless the window slid meanwhile
    EXPECT_EQ(seg1.body, seg2.body) << "both edges serve the same bytes for " << uri1;
    // edge-2's miss went to the origin that edge-1's miss went to (ring by segment): a hit there.
    EXPECT_NE(seg2.header("Cache-Status").value_or("").find("hlscache; hit"), std::string::npos)
        << seg2.describe();
  }
  // The misses went edge -> origin ring -> segmenter: the origins fetched upstream.
  double origin_fetches = 0;
  for (const char* o : {"ORIGIN1", "ORIGIN2"}) {
    auto m = get(ports_[o], "/metrics");
    EXPECT_EQ(m.status, 200);
    origin_fetches += metric_sum(m.body, "hlscache_upstream_requests_total");
  }
  EXPECT_GE(origin_fetches, 3) << "master, media playlist and segment reach the segmenter through the origins";
  // A path outside /live/ is not routed upstream: 404 from the edge itself.
  EXPECT_EQ(get(ports_["EDGE1"], "/other/thing.ts").status, 404);

  auto stop = topology("stop");
  started_ = false;
  ASSERT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  for (pid_t p : pids) EXPECT_FALSE(alive(p)) << "pid " << p << " still runs after stop";
  for (const auto& [n, port] : ports_) EXPECT_FALSE(Connection::open(port, 500ms).connected()) << n << " still listens";
  EXPECT_TRUE(recorded_pids().empty()) << "PID files left behind";
  EXPECT_NE(topology("status").exit_code, 0);
}

TEST_F(DeployTopology, StopNeverSignalsAProcessItDidNotStart) {
  // A PID file naming some other live process (a PID reused after a crash): stop
  // must forget it, not kill it.
  fs::create_directories(run_dir_);
  const pid_t bystander = spawn({"sleep", "30"}, tmp_ + "/sleep.out", tmp_ + "/sleep.err");
  ASSERT_GT(bystander, 0);
  write_file(run_dir_ + "/edge-1.pid", std::to_string(bystander) + "\n");
  auto stop = topology("stop");
  EXPECT_EQ(stop.exit_code, 0) << stop.out << stop.err;
  int wstatus = 0;
  EXPECT_EQ(::waitpid(bystander, &wstatus, WNOHANG), 0) << "stop signalled a process that is not ours";
  EXPECT_TRUE(read_file(run_dir_ + "/edge-1.pid").empty()) << "the stale PID file is kept";
  ::kill(bystander, SIGKILL);
  ::waitpid(bystander, &wstatus, 0);
}

}  // namespace
}  // namespace hlscache::test
