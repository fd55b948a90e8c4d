// The spec (Table 1 of the paper as data) and the Network's batch-norm folding.
#include <cmath>
#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "check.h"
#include "engine/network.h"
#include "engine/spec.h"

using namespace mobilenet;

namespace {
ArchSpec arch(double alpha, int resolution) {
  ArchSpec cfg;
  cfg.alpha = alpha;
  cfg.resolution = resolution;
  return cfg;
}

const LayerSpec& find(const std::vector<LayerSpec>& layers, const std::string& name) {
  for (const auto& l : layers)
    if (l.name == name) return l;
  throw std::runtime_error("no layer " + name);
}

// The paper rounds mult-adds to millions, not always counting the classifier's 1 M (full-conv is
// 1.3 M off), and parameters to tenths of millions.
constexpr double kPaperMacs = 1.5, kPaperParams = 0.05;

struct Totals {
  int64_t macs = 0, params = 0;
};
Totals totals(const std::vector<LayerSpec>& layers) {
  Totals t;
  for (const auto& l : layers) {
    t.macs += l.macs;
    t.params += l.params;
  }
  return t;
}
}  // namespace

TEST(spec, alpha_1_at_224_is_table_1) {
  const std::vector<LayerSpec> layers = build_layers(arch(1, 224));
  REQUIRE(layers.size() == 1 + 13 * 2 + 3);
  const LayerSpec& conv1 = layers[0];
  CHECK_EQ(conv1.name, std::string("conv1"));
  CHECK_EQ(conv1.in_channels, 3);
  CHECK_EQ(conv1.out_channels, 32);
  CHECK_EQ(conv1.out_size, 112);
  CHECK_EQ(conv1.pad_before, 0);  // TF SAME on an even size at stride 2 pads only after
  CHECK_EQ(conv1.pad_after, 1);
  const LayerSpec& dw13 = find(layers, "conv_dw_13");
  CHECK_EQ(dw13.in_size, 7);
  CHECK_EQ(dw13.in_channels, 1024);
  CHECK_EQ(find(layers, "conv_dw_12").stride, 2);
  CHECK_EQ(find(layers, "conv_pw_13").out_channels, 1024);
  CHECK_EQ(find(layers, "avg_pool").kernel, 7);
  const LayerSpec& fc = find(layers, "conv_preds");
  CHECK_EQ(fc.in_channels, 1024);
  CHECK_EQ(fc.out_channels, 1000);
  // Table 8 of the paper: 569 million mult-adds, 4.2 million parameters.
  const Totals t = totals(layers);
  CHECK_NEAR(t.macs / 1e6, 569, kPaperMacs);
  CHECK_NEAR(t.params / 1e6, 4.2, kPaperParams);
}

TEST(spec, width_and_resolution_multipliers_match_tables_6_and_7) {
  struct Row {
    double alpha;
    int resolution;
    double macs_millions, params_millions;
    int final_size, final_channels;
  };
  // Table 6 (α at 224) and Table 7 (ρ at α=1) of the paper.
  const Row rows[] = {{0.75, 224, 325, 2.6, 7, 768}, {0.5, 224, 149, 1.3, 7, 512}, {0.25, 224, 41, 0.5, 7, 256},
                      {1, 192, 418, 4.2, 6, 1024},   {1, 160, 290, 4.2, 5, 1024},  {1, 128, 186, 4.2, 4, 1024}};
  for (const Row& r : rows) {
    const std::vector<LayerSpec> layers = build_layers(arch(r.alpha, r.resolution));
    const Totals t = totals(layers);
    CHECK_MSG(std::fabs(t.macs / 1e6 - r.macs_millions) <= kPaperMacs, "α=" << r.alpha << " " << r.resolution << ": " << t.macs << " mult-adds");
    CHECK_MSG(std::fabs(t.params / 1e6 - r.params_millions) <= kPaperParams, "α=" << r.alpha << " " << r.resolution << ": " << t.params << " params");
    const LayerSpec& pool = find(layers, "avg_pool");
    CHECK_EQ(pool.in_size, r.final_size);
    CHECK_EQ(pool.in_channels, r.final_channels);
  }
}

TEST(spec, padding_modes_on_even_and_odd_sizes) {
  // TF SAME pads (0, 1) at stride 2 on an even size and (1, 1) on an odd one; symmetric always (1, 1).
  struct Case {
    int resolution;
    PaddingMode padding;
    int out, before, after;
  };
  const Case cases[] = {{224, PaddingMode::Same, 112, 0, 1},      {225, PaddingMode::Same, 113, 1, 1},
                        {97, PaddingMode::Same, 49, 1, 1},        {224, PaddingMode::Symmetric, 112, 1, 1},
                        {97, PaddingMode::Symmetric, 49, 1, 1},   {160, PaddingMode::Symmetric, 80, 1, 1}};
  for (const Case& c : cases) {
    ArchSpec cfg = arch(0.5, c.resolution);
    cfg.padding = c.padding;
    const std::vector<LayerSpec> layers = build_layers(cfg);
    const LayerSpec& conv1 = layers[0];
    CHECK_MSG(conv1.out_size == c.out && conv1.pad_before == c.before && conv1.pad_after == c.after,
              c.resolution << (c.padding == PaddingMode::Same ? " same" : " symmetric") << ": out " << conv1.out_size << " pad "
                           << conv1.pad_before << "/" << conv1.pad_after);
  }
  // Stride-1 depthwise layers pad (1, 1) in both modes.
  const std::vector<LayerSpec> layers = build_layers(arch(0.5, 224));
  const LayerSpec& dw1 = find(layers, "conv_dw_1");
  CHECK(dw1.stride == 1 && dw1.pad_before == 1 && dw1.pad_after == 1 && dw1.out_size == dw1.in_size);
}

TEST(spec, channel_rules_and_variants) {
  ArchSpec slim = arch(0.125, 128);
  slim.channel_rule = ChannelRule::Slim;
  CHECK_EQ(build_layers(slim)[0].out_channels, 8);  // floor(32·0.125) = 4, clamped to 8
  CHECK_EQ(build_layers(arch(0.125, 128))[0].out_channels, 4);
  CHECK_EQ(scaled_channels(64, 0.75, ChannelRule::Keras), 48);  // not 47 through binary rounding

  ArchSpec shallow = arch(1, 224);
  shallow.variant = Variant::Shallow;
  const std::vector<LayerSpec> s = build_layers(shallow);
  CHECK_EQ(s.size(), size_t(1 + 8 * 2 + 3));  // blocks 7–11 removed (Table 5)
  bool has_block_7 = false;
  for (const auto& l : s) has_block_7 = has_block_7 || l.name == "conv_dw_7";
  CHECK(!has_block_7);
  CHECK_EQ(find(s, "avg_pool").in_size, 7);
  // Table 5: 307 million mult-adds, 2.9 million parameters.
  CHECK_NEAR(totals(s).macs / 1e6, 307, kPaperMacs);
  CHECK_NEAR(totals(s).params / 1e6, 2.9, kPaperParams);

  ArchSpec full = arch(1, 224);
  full.variant = Variant::FullConv;
  const std::vector<LayerSpec> f = build_layers(full);
  CHECK_EQ(f.size(), size_t(1 + 13 + 3));
  // Table 4: a full-convolution MobileNet is 4866 million mult-adds and 29.3 million parameters.
  CHECK_NEAR(totals(f).macs / 1e6, 4866, kPaperMacs);
  CHECK_NEAR(totals(f).params / 1e6, 29.3, kPaperParams);
}

TEST(spec, impossible_configurations_throw) {
  CHECK_THROWS(build_layers(arch(0, 224)), std::invalid_argument, "alpha");
  CHECK_THROWS(build_layers(arch(1.5, 224)), std::invalid_argument, "alpha");
  CHECK_THROWS(build_layers(arch(1, 31)), std::invalid_argument, "resolution");
  ArchSpec no_classes = arch(1, 224);
  no_classes.classes = 0;
  CHECK_THROWS(build_layers(no_classes), std::invalid_argument, "classes");
  CHECK_THROWS(build_layers(arch(0.01, 224)), std::invalid_argument, "no channels");
}

namespace {
// A tiny network (α=1/8 keras: conv1 has 4 channels; 32 px; the shallow variant; 3 classes) and
// random TF-layout tensors for it, in the order Network expects them.
struct Tiny {
  ArchSpec cfg;
  std::vector<LayerSpec> layers;
  std::vector<std::vector<float>> tensors;
  Tiny() {
    cfg = arch(0.125, 32);
    cfg.classes = 3;
    cfg.variant = Variant::Shallow;
    cfg.bn_epsilon = 1.0;  // large, so that a fold that ignores ε is visibly wrong
    layers = build_layers(cfg);
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> u(-1, 1), positive(0.1f, 2);
    auto random = [&](size_t n, bool pos = false) {
      std::vector<float> v(n);
      for (float& x : v) x = pos ? positive(rng) : u(rng);
      return v;
    };
    for (const LayerSpec& l : layers) {
      const size_t k = l.kernel, cin = l.in_channels, cout = l.out_channels;
      if (l.type == LayerType::FullyConnected) {
        tensors.push_back(random(cin * cout));
        tensors.push_back(random(cout));
      } else if (l.type == LayerType::Conv || l.type == LayerType::Depthwise || l.type == LayerType::Pointwise) {
        tensors.push_back(random(l.type == LayerType::Depthwise ? k * k * cin : k * k * cin * cout));
        for (int p = 0; p < 3; ++p) tensors.push_back(random(cout));  // γ, β, μ
        tensors.push_back(random(cout, true));                          // σ²
      }
    }
  }
  std::vector<TensorView> views() const {
    std::vector<TensorView> v;
    for (const auto& t : tensors) v.push_back({t.data(), t.size()});
    return v;
  }
  // Index of the first of a weighted layer's tensors (its kernel).
  size_t first_tensor(const std::string& name) const {
    size_t n = 0;
    for (const LayerSpec& l : layers) {
      if (l.name == name) return n;
      if (l.type == LayerType::FullyConnected) n += 2;
      else if (l.type == LayerType::Conv || l.type == LayerType::Depthwise || l.type == LayerType::Pointwise) n += 5;
    }
    throw std::runtime_error("no layer " + name);
  }
};

const FoldedLayer& folded_of(const Network& net, const std::string& name) {
  for (const FoldedLayer& f : net.folded())
    if (net.layers()[f.layer_index].name == name) return f;
  throw std::runtime_error("no folded layer " + name);
}

// conv → BN on one random k×k×cin patch, from the TF tensors in double, against the folded layer.
void check_fold_on_a_patch(const Tiny& tiny, const Network& net, const std::string& name) {
  const LayerSpec& l = find(tiny.layers, name);
  const size_t t0 = tiny.first_tensor(name), k = l.kernel, cin = l.in_channels, cout = l.out_channels;
  const std::vector<float>& w = tiny.tensors[t0];
  const std::vector<float>&gamma = tiny.tensors[t0 + 1], &beta = tiny.tensors[t0 + 2], &mean = tiny.tensors[t0 + 3],
                     &var = tiny.tensors[t0 + 4];
  const FoldedLayer& f = folded_of(net, name);
  const bool dw = l.type == LayerType::Depthwise;
  std::mt19937 rng(11);
  std::uniform_real_distribution<double> u(-1, 1);
  std::vector<double> patch(k * k * cin);  // HWC
  for (double& x : patch) x = u(rng);
  for (size_t o = 0; o < cout; ++o) {
    double conv = 0, folded = f.bias[o];
    for (size_t y = 0; y < k; ++y)
      for (size_t x = 0; x < k; ++x) {
        if (dw) {
          const double px = patch[(y * k + x) * cin + o];
          conv += w[(y * k + x) * cin + o] * px;
          folded += f.weights[(o * k + y) * k + x] * px;
          continue;
        }
        for (size_t i = 0; i < cin; ++i) {
          const double px = patch[(y * k + x) * cin + i];
          conv += w[((y * k + x) * cin + i) * cout + o] * px;
          folded += f.weights[((o * cin + i) * k + y) * k + x] * px;
        }
      }
    const double bn = gamma[o] * (conv - mean[o]) / std::sqrt(var[o] + tiny.cfg.bn_epsilon) + beta[o];
    CHECK_MSG(std::fabs(folded - bn) <= 1e-5 * (1 + std::fabs(bn)), name << " channel " << o << ": folded " << folded << ", conv+BN " << bn);
  }
  CHECK(f.bn_gamma == gamma);
  CHECK(f.bn_beta == beta);
}
}  // namespace

TEST(network, bn_folding_by_hand) {
  Tiny tiny;
  const size_t t0 = tiny.first_tensor("conv1");
  // Channel 0: γ=1, σ²=3, ε=1 ⇒ scale ½; β=¼, μ=2 ⇒ bias ¼ − 2·½ = −¾.
  tiny.tensors[t0 + 1][0] = 1;
  tiny.tensors[t0 + 2][0] = 0.25f;
  tiny.tensors[t0 + 3][0] = 2;
  tiny.tensors[t0 + 4][0] = 3;
  const Network net(tiny.cfg, tiny.views());
  const FoldedLayer& f = folded_of(net, "conv1");
  const std::vector<float>& w = tiny.tensors[t0];
  const int cout = 4;
  CHECK_EQ(f.bias[0], -0.75f);
  for (int y = 0; y < 3; ++y)
    for (int x = 0; x < 3; ++x)
      for (int i = 0; i < 3; ++i)  // OIHW [0][i][y][x] from HWIO [y][x][i][0]
        CHECK_EQ(f.weights[(i * 3 + y) * 3 + x], w[((y * 3 + x) * 3 + i) * cout + 0] * 0.5f);
}

TEST(network, bn_folding_matches_conv_then_bn) {
  Tiny tiny;
  const Network net(tiny.cfg, tiny.views());
  for (const char* name : {"conv1", "conv_dw_1", "conv_pw_1", "conv_dw_12", "conv_pw_13"}) check_fold_on_a_patch(tiny, net, name);
}

TEST(network, layers_and_classifier) {
  Tiny tiny;
  Network net(tiny.cfg, tiny.views());
  size_t weighted = 0;
  for (const LayerSpec& l : net.layers()) weighted += l.type != LayerType::Pool && l.type != LayerType::Softmax;
  REQUIRE(net.folded().size() == weighted);
  for (size_t i = 1; i < net.folded().size(); ++i) CHECK(net.folded()[i].layer_index > net.folded()[i - 1].layer_index);
  CHECK_EQ(net.feature_width(), 128);  // 1024 · ⅛
  CHECK_EQ(net.classes(), 3);
  // The classifier: TF [in][out] → [out][in], bias as given, no BN.
  const size_t t0 = tiny.first_tensor("conv_preds");
  const FoldedLayer& fc = folded_of(net, "conv_preds");
  for (size_t i = 0; i < 128; ++i)
    for (size_t o = 0; o < 3; ++o) CHECK_EQ(fc.weights[o * 128 + i], tiny.tensors[t0][i * 3 + o]);
  CHECK(fc.bias == tiny.tensors[t0 + 1]);
  CHECK(fc.bn_gamma.empty());
  // A backend that holds its own copy frees the network's; the bias stays.
  const size_t last = net.folded().size() - 1;
  net.release_weights(last);
  CHECK(net.folded()[last].weights.empty());
  CHECK(net.folded()[last].bias == tiny.tensors[t0 + 1]);
}

TEST(network, bad_tensors_throw_naming_the_tensor) {
  Tiny tiny;
  std::vector<TensorView> views = tiny.views();
  views.pop_back();
  CHECK_THROWS(Network(tiny.cfg, views), std::invalid_argument, "weight tensors");
  views = tiny.views();
  views[tiny.first_tensor("conv_pw_2")].size -= 1;
  CHECK_THROWS(Network(tiny.cfg, views), std::invalid_argument, "conv_pw_2/kernel");
  views = tiny.views();
  views[tiny.first_tensor("conv_dw_3") + 2].data = nullptr;
  CHECK_THROWS(Network(tiny.cfg, views), std::invalid_argument, "conv_dw_3_bn/beta");
  tiny.tensors[tiny.first_tensor("conv_dw_1") + 4][0] = -1.5f;  // σ² + ε < 0
  CHECK_THROWS(Network(tiny.cfg, tiny.views()), std::invalid_argument, "moving_variance");
}
