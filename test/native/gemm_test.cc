// gemm_test.cc — stand-alone check of lw::sgemm against lw::sgemm_reference.
//
// For every instruction-set variant this CPU supports (lw::set_isa) and for
// 1 and 2 threads it runs all four transpose combinations over square and
// mixed sizes (0 … 300, chosen around the MR/NR/KC edges), the MLP training
// shapes, several alpha/beta pairs (beta = 0 on a NaN-filled C must not leak
// NaN) and row strides wider than the rows. Errors are measured against the
// bound that matters for a dot product, |alpha|·Σ|a||b| + |beta·c|, and must
// stay below 1e-5·sqrt(k) of it. Padding between rows of C must come back
// untouched. It also checks that 1 and 2 threads give bit-identical results,
// that concurrent callers and nested parallel_for work, and the threadpool
// and ISA switches themselves. One line per case group; exit code 1 on any
// failure.
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <functional>
#include <limits>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "cpu.h"
#include "gemm.h"
#include "threadpool.h"

namespace {

struct Shape {
  int64_t m, n, k;
};

struct Variant {
  float alpha, beta;
  bool nan_c;  // fill C with NaN first (only meaningful with beta == 0)
};

const Variant kVariants[] = {
    {1.0f, 0.0f, true}, {1.0f, 1.0f, false}, {-1.5f, 0.5f, false}, {2.0f, 0.0f, true}};

int g_failures = 0;

struct Result {
  double worst = 0.0;  // worst error / bound ratio scaled by the tolerance
  bool ok = true;
  std::string first_bad;
};

// Runs one product; returns false and describes the first bad element.
bool run_case(bool ta, bool tb, Shape s, const Variant& v, bool padded,
              std::mt19937& rng, Result& res) {
  const int64_t m = s.m, n = s.n, k = s.k;
  const int64_t pad = padded ? 3 : 0;
  const int64_t a_rows = ta ? k : m, a_cols = ta ? m : k;
  const int64_t b_rows = tb ? n : k, b_cols = tb ? k : n;
  const int64_t lda = a_cols + pad, ldb = b_cols + pad, ldc = n + pad;
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  std::vector<float> a(static_cast<size_t>(a_rows * lda + 1)), b(static_cast<size_t>(b_rows * ldb + 1));
  for (float& x : a) x = dist(rng);
  for (float& x : b) x = dist(rng);
  const float sentinel = 12345.0f;
  std::vector<float> c0(static_cast<size_t>(m * ldc + 1), sentinel);
  for (int64_t i = 0; i < m; ++i)
    for (int64_t j = 0; j < n; ++j)
      c0[i * ldc + j] = v.nan_c ? std::numeric_limits<float>::quiet_NaN() : dist(rng);
  std::vector<float> c = c0, ref = c0;
  // Take the pointer of a non-empty vector even when the matrix is empty.
  lw::sgemm(ta, tb, m, n, k, v.alpha, a.data(), lda, b.data(), ldb, v.beta, c.data(), ldc);
  lw::sgemm_reference(ta, tb, m, n, k, v.alpha, a.data(), lda, b.data(), ldb, v.beta, ref.data(), ldc);
  const double tol = 1e-5 * std::sqrt(static_cast<double>(k > 1 ? k : 1));
  bool ok = true;
  for (int64_t i = 0; i < m && ok; ++i) {
    for (int64_t j = 0; j < ldc && ok; ++j) {
      const size_t idx = static_cast<size_t>(i * ldc + j);
      if (j >= n) {
        if (c[idx] != sentinel) {
          ok = false;
          res.first_bad = "row padding overwritten at (" + std::to_string(i) + "," + std::to_string(j) + ")";
        }
        continue;
      }
      double mag = v.beta == 0.0f ? 0.0 : std::fabs(static_cast<double>(v.beta) * c0[idx]);
      for (int64_t p = 0; p < k; ++p) {
        const double av = ta ? a[p * lda + i] : a[i * lda + p];
        const double bv = tb ? b[j * ldb + p] : b[p * ldb + j];
        mag += std::fabs(static_cast<double>(v.alpha) * av * bv);
      }
      const double err = std::fabs(static_cast<double>(c[idx]) - ref[idx]);
      const double ratio = err / (mag + 1e-30);
      if (!std::isfinite(c[idx]) || !(ratio <= tol)) {
        ok = false;
        char buf[200];
        std::snprintf(buf, sizeof buf, "C(%lld,%lld) = %g, reference %g (err %.3g, bound %.3g)",
                      static_cast<long long>(i), static_cast<long long>(j), c[idx], ref[idx],
                      err, tol * mag);
        res.first_bad = buf;
      }
      if (std::isfinite(ratio) && mag > 0.0 && ratio / tol > res.worst) res.worst = ratio / tol;
    }
  }
  // The trailing element after the last row must not be written either.
  if (ok && m > 0 && c[static_cast<size_t>(m * ldc)] != sentinel) {
    ok = false;
    res.first_bad = "wrote past the end of C";
  }
  if (!ok) res.ok = false;
  return ok;
}

void report(const std::string& name, const Result& r, int cases) {
  std::printf("%-4s %-52s cases=%-5d worst err/bound=%.3f%s%s\n", r.ok ? "ok" : "FAIL",
              name.c_str(), cases, r.worst, r.ok ? "" : "  first: ", r.first_bad.c_str());
  std::fflush(stdout);
  if (!r.ok) ++g_failures;
}

// "mxnxk", the shape part of a failing case's description.
std::string shape_name(const Shape& s) {
  return std::to_string(s.m) + "x" + std::to_string(s.n) + "x" + std::to_string(s.k);
}

// A failing case of the bit-for-bit checks: shape, alpha, beta and threads.
std::string case_name(const Shape& s, const Variant& v, int threads) {
  return shape_name(s) + " alpha " + std::to_string(v.alpha) + " beta " + std::to_string(v.beta) +
         " threads " + std::to_string(threads);
}

const char* trans_name(bool ta, bool tb) {
  static const char* names[4] = {"NN", "NT", "TN", "TT"};
  return names[(ta ? 2 : 0) + (tb ? 1 : 0)];
}

void check_products(lw::Isa isa, int threads) {
  const int64_t sizes[] = {0, 1, 2, 3, 5, 7, 15, 16, 17, 31, 33, 64, 65, 127, 129, 255, 300};
  const Shape training[] = {{32, 128, 784}, {784, 128, 32}, {32, 784, 128}};
  std::mt19937 rng(1234);
  for (int t = 0; t < 4; ++t) {
    const bool ta = t & 2, tb = t & 1;
    const std::string prefix = std::string(lw::isa_name(isa)) + " threads=" +
                               std::to_string(threads) + " " + trans_name(ta, tb);
    // Squares, every alpha/beta variant, packed and strided.
    {
      Result r;
      int cases = 0;
      for (int64_t s : sizes)
        for (const Variant& v : kVariants)
          for (int padded = 0; padded < 2; ++padded, ++cases)
            run_case(ta, tb, {s, s, s}, v, padded != 0, rng, r);
      report(prefix + " squares 0..300", r, cases);
    }
    // Mixed shapes from the same size list, drawn at random.
    {
      Result r;
      int cases = 0;
      std::uniform_int_distribution<int> pick(0, static_cast<int>(sizeof sizes / sizeof sizes[0]) - 1);
      for (int i = 0; i < 120; ++i, ++cases) {
        const Shape s = {sizes[pick(rng)], sizes[pick(rng)], sizes[pick(rng)]};
        run_case(ta, tb, s, kVariants[i % 4], (i / 4) % 2 == 1, rng, r);
      }
      report(prefix + " mixed shapes", r, cases);
    }
    // MLP training shapes.
    {
      Result r;
      int cases = 0;
      for (const Shape& s : training)
        for (int vi = 0; vi < 4; vi += 1, ++cases)
          run_case(ta, tb, s, kVariants[vi], vi == 2, rng, r);
      report(prefix + " 32x784x128, 784x32x128, 32x128x784", r, cases);
    }
    // C at most 16 wide (a classifier's output layer): the narrow kernel reads
    // A and B in place; depths of 1-3 rows (B's last rows come from a copy),
    // the small CNN's dense shapes, and depths of several k slices.
    {
      Result r;
      int cases = 0;
      const Shape narrow[] = {{32, 10, 1352}, {1352, 10, 32}, {33, 5, 1}, {9, 16, 2}, {100, 12, 3},
                              {17, 7, 5000}, {41, 13, 300}, {3, 6, 40}};
      for (const Shape& s : narrow)
        for (int vi = 0; vi < 4; ++vi, ++cases) run_case(ta, tb, s, kVariants[vi], vi % 2 == 1, rng, r);
      report(prefix + " narrow C (n <= 16)", r, cases);
    }
  }
}

// Same inputs, 1 vs 2 threads: each element of C has one owner and one k
// order, so the bits must agree.
void check_thread_determinism(lw::Isa isa) {
  const Shape shapes[] = {{512, 512, 512}, {300, 1000, 77}, {32, 784, 128}, {1000, 64, 600},
                          {32, 10, 1352}, {1352, 10, 32}, {32, 1352, 10}};
  Result r;
  int cases = 0;
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    for (int t = 0; t < 4; ++t, ++cases) {
      const bool ta = t & 2, tb = t & 1;
      std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n));
      for (float& x : a) x = dist(rng);
      for (float& x : b) x = dist(rng);
      std::vector<float> c1(static_cast<size_t>(s.m * s.n)), c2(c1.size()), c3(c1.size());
      lw::set_num_threads(1);
      lw::sgemm(ta, tb, s.m, s.n, s.k, 1.0f, a.data(), ta ? s.m : s.k, b.data(), tb ? s.k : s.n, 0.0f, c1.data(), s.n);
      lw::set_num_threads(2);
      lw::sgemm(ta, tb, s.m, s.n, s.k, 1.0f, a.data(), ta ? s.m : s.k, b.data(), tb ? s.k : s.n, 0.0f, c2.data(), s.n);
      lw::sgemm(ta, tb, s.m, s.n, s.k, 1.0f, a.data(), ta ? s.m : s.k, b.data(), tb ? s.k : s.n, 0.0f, c3.data(), s.n);
      if (std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) != 0 ||
          std::memcmp(c2.data(), c3.data(), c1.size() * sizeof(float)) != 0) {
        r.ok = false;
        r.first_bad = shape_name(s) + " " + trans_name(ta, tb);
      }
    }
  }
  report(std::string(lw::isa_name(isa)) + " 1 vs 2 threads bit-identical", r, cases);
}

// sgemm with a bias/activation epilogue equals sgemm then bias_activation,
// bit for bit: the direct loop (one row, few columns), the in-place and packed
// macro-kernels, several k slices, padded C, NaN and negative sums, 1 and 2
// threads; with beta = 1 the epilogue follows the accumulated product.
void check_epilogue(lw::Isa isa) {
  const Shape shapes[] = {{1, 128, 1568}, {3, 10, 128}, {7, 3, 50},  {455, 32, 144},
                          {20, 128, 1568}, {129, 33, 300}, {64, 200, 17}};
  const lw::Activation kinds[] = {lw::Activation::kLinear, lw::Activation::kRelu, lw::Activation::kSigmoid,
                                  lw::Activation::kTanh, lw::Activation::kLeakyRelu};
  Result r;
  int cases = 0;
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    const int64_t ldc = s.n + 5;
    std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)), bias(static_cast<size_t>(s.n));
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    for (float& x : bias) x = dist(rng);
    bias[0] = std::numeric_limits<float>::quiet_NaN();
    std::vector<float> c0(static_cast<size_t>(s.m * ldc));
    for (float& x : c0) x = dist(rng);
    for (int threads : {1, 2}) {
      lw::set_num_threads(threads);
      for (lw::Activation f : kinds) {
        for (float beta : {0.0f, 1.0f}) {
          ++cases;
          std::vector<float> fused = c0, separate = c0;
          lw::sgemm(false, false, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, beta, fused.data(), ldc,
                    lw::GemmEpilogue{bias.data(), f, 0.1f});
          lw::sgemm(false, false, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, beta, separate.data(), ldc);
          for (int64_t i = 0; i < s.m; ++i)
            lw::bias_activation_serial(separate.data() + i * ldc, bias.data(), 1, s.n, f, 0.1f);
          if (std::memcmp(fused.data(), separate.data(), fused.size() * sizeof(float)) != 0) {
            r.ok = false;
            r.first_bad = shape_name(s) +
                          " activation " + std::to_string(int(f)) + " beta " + std::to_string(beta) +
                          " threads " + std::to_string(threads);
          }
        }
      }
    }
  }
  report(std::string(lw::isa_name(isa)) + " epilogue = product then bias_activation, bit for bit", r, cases);
}

// A·Bᵀ at most 16 deep (AVX-512: the shallow kernel, which reads B in place)
// gives the packed path's bits: each element summed over p in order from
// zero with one FMA a step, then alpha·acc + beta·C as the tiles finish it
// (emulated here in scalar code). Depths 1-16, rows in and out of the
// kernel's 4-row groups, column blocks of 16 and partial ones, padded
// strides, 1 and 2 threads, the small CNN's 32×1352×10.
void check_shallow_bits(lw::Isa isa) {
  const Shape shapes[] = {{32, 1352, 10}, {32, 128, 10}, {5, 17, 1}, {33, 100, 16}, {3, 40, 7},
                          {2, 16, 3}, {129, 37, 13}, {64, 2000, 10}};
  Result r;
  int cases = 0;
  std::mt19937 rng(11);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int threads : {1, 2}) {
    lw::set_num_threads(threads);
    for (const Shape& s : shapes)
      for (const Variant& v : kVariants) {
        ++cases;
        const int64_t lda = s.k + 1, ldb = s.k + 2, ldc = s.n + 3;
        std::vector<float> a(static_cast<size_t>(s.m * lda)), b(static_cast<size_t>(s.n * ldb));
        std::vector<float> c(static_cast<size_t>(s.m * ldc));
        for (float& x : a) x = dist(rng);
        for (float& x : b) x = dist(rng);
        for (float& x : c) x = v.nan_c ? std::numeric_limits<float>::quiet_NaN() : dist(rng);
        std::vector<float> expected = c;
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < s.n; ++j) {
            float acc = 0.0f;
            for (int64_t p = 0; p < s.k; ++p) acc = std::fmaf(a[size_t(i * lda + p)], b[size_t(j * ldb + p)], acc);
            float& e = expected[size_t(i * ldc + j)];
            e = v.beta == 0.0f   ? (v.alpha == 1.0f ? acc : acc * v.alpha)
                : v.beta == 1.0f ? std::fmaf(acc, v.alpha, e)
                                 : std::fmaf(acc, v.alpha, e * v.beta);
          }
        lw::sgemm(false, true, s.m, s.n, s.k, v.alpha, a.data(), lda, b.data(), ldb, v.beta, c.data(), ldc);
        if (std::memcmp(c.data(), expected.data(), c.size() * sizeof(float)) != 0) {
          r.ok = false;
          r.first_bad = case_name(s, v, threads);
        }
      }
  }
  report(std::string(lw::isa_name(isa)) + " A*B^T 1-16 deep: the packed path's bits", r, cases);
}

// Rows of C computed in chunks equal the same rows of the whole product, bit
// for bit (predict runs a large batch in chunks and promises the whole
// batch's result): the k slicing depends on n and k only, also where a
// product takes the whole depth in one slice (gemm.cc, depth_block: the
// MLP's 784×128 weights) and where it is sliced (1568×128), with the ReLU
// epilogue, on 1 and 2 threads.
void check_row_chunks(lw::Isa isa) {
  const Shape shapes[] = {{1000, 128, 784}, {300, 128, 1568}, {77, 33, 600}, {64, 10, 128}};
  Result r;
  int cases = 0;
  std::mt19937 rng(17);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (const Shape& s : shapes) {
    std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)), bias(static_cast<size_t>(s.n));
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    for (float& x : bias) x = dist(rng);
    const lw::GemmEpilogue ep{bias.data(), lw::Activation::kRelu, 0.0f};
    for (int threads : {1, 2}) {
      lw::set_num_threads(threads);
      std::vector<float> whole(static_cast<size_t>(s.m * s.n)), chunked(whole.size());
      lw::sgemm(false, false, s.m, s.n, s.k, 1.0f, a.data(), s.k, b.data(), s.n, 0.0f, whole.data(), s.n, ep);
      for (int64_t chunk : {int64_t(1), int64_t(5), int64_t(20), int64_t(333)}) {
        ++cases;
        for (int64_t i = 0; i < s.m; i += chunk) {
          const int64_t rows = s.m - i < chunk ? s.m - i : chunk;
          lw::sgemm(false, false, rows, s.n, s.k, 1.0f, a.data() + i * s.k, s.k, b.data(), s.n, 0.0f,
                    chunked.data() + i * s.n, s.n, ep);
        }
        // Chunks of at most 4 rows take the direct loop, which sums in another order.
        if (chunk > 4 && std::memcmp(whole.data(), chunked.data(), whole.size() * sizeof(float)) != 0) {
          r.ok = false;
          r.first_bad = shape_name(s) + " in chunks of " +
                        std::to_string(chunk) + ", threads " + std::to_string(threads);
        }
      }
    }
  }
  report(std::string(lw::isa_name(isa)) + " rows in chunks = whole product, bit for bit", r, cases);
}

// GemmEpilogue::non_finite: stays 0 for finite products and becomes 1 for a
// NaN or ±Inf anywhere in A (also against a zero row of B) and for an
// overflow, on the direct loop, in place, packed, one and several k slices,
// in-tile and after-block activations, 1 and 2 threads.
void check_non_finite_flag(lw::Isa isa) {
  const Shape shapes[] = {{1, 128, 1568}, {3, 10, 128}, {17, 3, 50}, {129, 33, 300}, {40, 128, 784}, {300, 64, 20}};
  Result r;
  int cases = 0;
  std::mt19937 rng(23);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  const float bads[] = {std::numeric_limits<float>::quiet_NaN(), std::numeric_limits<float>::infinity(),
                        -std::numeric_limits<float>::infinity()};
  for (const Shape& s : shapes) {
    std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n)), bias(static_cast<size_t>(s.n));
    std::vector<float> c(static_cast<size_t>(s.m * s.n));
    for (float& x : a) x = dist(rng);
    for (float& x : b) x = dist(rng);
    for (float& x : bias) x = dist(rng);
    const int64_t zero_row = s.k / 2;
    for (int64_t j = 0; j < s.n; ++j) b[static_cast<size_t>(zero_row * s.n + j)] = 0.0f;
    for (int threads : {1, 2}) {
      lw::set_num_threads(threads);
      for (lw::Activation f : {lw::Activation::kRelu, lw::Activation::kSigmoid, lw::Activation::kLinear}) {
        auto flagged = [&](const std::vector<float>& av, const std::vector<float>& bv) {
          int flag = 0;
          lw::sgemm(false, false, s.m, s.n, s.k, 1.0f, av.data(), s.k, bv.data(), s.n, 0.0f, c.data(), s.n,
                    lw::GemmEpilogue{bias.data(), f, 0.0f, &flag});
          return flag;
        };
        const std::string what = shape_name(s) +
                                 " activation " + std::to_string(int(f)) + " threads " + std::to_string(threads);
        ++cases;
        if (flagged(a, b) != 0) r.ok = false, r.first_bad = what + " clean";
        for (float bad : bads)
          for (int64_t at : {int64_t(0), s.m * s.k - 1, (s.m / 2) * s.k + zero_row}) {
            ++cases;
            std::vector<float> dirty = a;
            dirty[static_cast<size_t>(at)] = bad;
            if (flagged(dirty, b) != 1) r.ok = false, r.first_bad = what + " bad at " + std::to_string(at);
          }
        ++cases;
        if (flagged(std::vector<float>(a.size(), 3e38f), std::vector<float>(b.size(), 3e38f)) != 1)
          r.ok = false, r.first_bad = what + " overflow";
      }
    }
  }
  report(std::string(lw::isa_name(isa)) + " non_finite flag on every path", r, cases);
}

// A transposed A (a weight update Xᵀ·∂E/∂Y) is read in place where the
// kernel set has macro_at, and packed where its row stride is a multiple of
// 512 floats (gemm.cc, reads_a_in_place). The same A stored both ways must
// give the same bits: one k order, one finish. Several k slices, edge rows,
// alpha/beta variants, 1 and 2 threads.
void check_transposed_a_in_place(lw::Isa isa) {
  const Shape shapes[] = {{784, 128, 32}, {72, 32, 600}, {300, 64, 300}, {13, 100, 7}, {5, 17, 1}, {1000, 40, 64}};
  Result r;
  int cases = 0;
  std::mt19937 rng(21);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int threads : {1, 2}) {
    lw::set_num_threads(threads);
    for (const Shape& s : shapes)
      for (const Variant& v : kVariants) {
        ++cases;
        const int64_t packed_lda = 1024;  // a multiple of 512 floats: packed
        std::vector<float> a_in_place(static_cast<size_t>(s.k * s.m)), a_packed(static_cast<size_t>(s.k * packed_lda));
        std::vector<float> b(static_cast<size_t>(s.k * s.n)), c1(static_cast<size_t>(s.m * s.n));
        for (int64_t p = 0; p < s.k; ++p)
          for (int64_t i = 0; i < s.m; ++i) a_in_place[size_t(p * s.m + i)] = a_packed[size_t(p * packed_lda + i)] = dist(rng);
        for (float& x : b) x = dist(rng);
        for (float& x : c1) x = v.nan_c ? std::numeric_limits<float>::quiet_NaN() : dist(rng);
        std::vector<float> c2 = c1;
        lw::sgemm(true, false, s.m, s.n, s.k, v.alpha, a_in_place.data(), s.m, b.data(), s.n, v.beta, c1.data(), s.n);
        lw::sgemm(true, false, s.m, s.n, s.k, v.alpha, a_packed.data(), packed_lda, b.data(), s.n, v.beta, c2.data(), s.n);
        if (std::memcmp(c1.data(), c2.data(), c1.size() * sizeof(float)) != 0) {
          r.ok = false;
          r.first_bad = case_name(s, v, threads);
        }
      }
  }
  report(std::string(lw::isa_name(isa)) + " A^T*B, A in place or packed: same bits", r, cases);
}

// A·Bᵀ with few rows and a wide B runs as Cᵀ = B·Aᵀ and a transpose
// (gemm.cc, transposed_product): the same products in the same k order, so
// C must equal, bit for bit, the transpose of B·Aᵀ computed directly (which
// is too tall to take that path), with beta 0 and 1, on 1 and 2 threads.
// Both orientations keep more than 4 rows and columns (fewer take the direct
// loop, whose summation order differs).
void check_transposed_product(lw::Isa isa) {
  const Shape shapes[] = {{32, 1568, 128}, {32, 784, 128}, {7, 300, 70}, {128, 512, 300}, {5, 20, 64}};
  Result r;
  int cases = 0;
  std::mt19937 rng(5);
  std::uniform_real_distribution<float> dist(-1.0f, 1.0f);
  for (int threads : {1, 2}) {
    lw::set_num_threads(threads);
    for (const Shape& s : shapes)
      for (float beta : {0.0f, 1.0f}) {
        ++cases;
        std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.n * s.k));
        std::vector<float> c(static_cast<size_t>(s.m * s.n)), ct(c.size());
        for (float& x : a) x = dist(rng);
        for (float& x : b) x = dist(rng);
        for (int64_t i = 0; i < s.m; ++i)
          for (int64_t j = 0; j < s.n; ++j) c[size_t(i * s.n + j)] = ct[size_t(j * s.m + i)] = dist(rng);
        lw::sgemm(false, true, s.m, s.n, s.k, 0.5f, a.data(), s.k, b.data(), s.k, beta, c.data(), s.n);
        lw::sgemm(false, true, s.n, s.m, s.k, 0.5f, b.data(), s.k, a.data(), s.k, beta, ct.data(), s.m);
        for (int64_t i = 0; i < s.m && r.ok; ++i)
          for (int64_t j = 0; j < s.n; ++j)
            if (std::memcmp(&c[size_t(i * s.n + j)], &ct[size_t(j * s.m + i)], sizeof(float)) != 0) {
              r.ok = false;
              r.first_bad = shape_name(s);
              break;
            }
      }
  }
  report(std::string(lw::isa_name(isa)) + " A*B^T equals (B*A^T)^T bit for bit", r, cases);
}

// Two application threads multiplying at once: one owns the pool, the other
// must fall back to running serially, and both must be right.
void check_concurrent_callers() {
  lw::set_num_threads(2);
  std::atomic<int> bad{0};
  auto body = [&bad](unsigned seed) {
    std::mt19937 rng(seed);
    for (int it = 0; it < 20; ++it) {
      Result r;
      run_case(it % 2 == 1, it % 3 == 1, {200, 160, 150}, kVariants[it % 4], it % 2 == 0, rng, r);
      if (!r.ok) bad.fetch_add(1);
    }
  };
  std::thread t1(body, 1u), t2(body, 2u);
  t1.join();
  t2.join();
  Result r;
  r.ok = bad.load() == 0;
  if (!r.ok) r.first_bad = std::to_string(bad.load()) + " wrong products";
  report("concurrent sgemm from 2 threads", r, 40);
}

void check_threadpool() {
  Result r;
  // Every task runs exactly once, also for many tiny tasks and nesting.
  lw::set_num_threads(2);
  for (int64_t tasks : {int64_t(0), int64_t(1), int64_t(2), int64_t(3), int64_t(1000)}) {
    std::vector<std::atomic<int>> hits(static_cast<size_t>(tasks) + 1);
    for (auto& h : hits) h.store(0);
    std::atomic<int> nested{0};
    lw::parallel_for(tasks, [&](int64_t t) {
      hits[static_cast<size_t>(t)].fetch_add(1);
      lw::parallel_for(3, [&](int64_t) { nested.fetch_add(1); });
    });
    for (int64_t t = 0; t < tasks; ++t)
      if (hits[static_cast<size_t>(t)].load() != 1) r.ok = false;
    if (nested.load() != 3 * tasks) r.ok = false;
  }
  // Many back-to-back regions (the spin/sleep hand-over).
  std::atomic<int64_t> sum{0};
  for (int i = 0; i < 2000; ++i) lw::parallel_for(4, [&](int64_t t) { sum.fetch_add(t); });
  if (sum.load() != 2000 * 6) r.ok = false;
  lw::set_num_threads(0);
  if (lw::num_threads() < 1) r.ok = false;
  lw::set_num_threads(1);
  if (lw::num_threads() != 1) r.ok = false;
  if (!r.ok) r.first_bad = "task count / nesting / thread-count mismatch";
  report("threadpool: each task once, nested serial, 2000 regions", r, 8);
}

}  // namespace

int main() {
  // The two-thread checks must split whatever the machine is doing (a far
  // helper makes small calls run on the caller, threadpool.cc).
  lw::set_core_distance(lw::CoreDistance::kNear);
  std::printf("gemm_test: initial isa %s, threads %d\n", lw::isa_name(lw::active_isa()), lw::num_threads());
  const lw::Isa all[] = {lw::Isa::kBaseline, lw::Isa::kAvx2, lw::Isa::kAvx512};
  {
    Result r;
    if (!lw::cpu_supports(lw::Isa::kBaseline) || !lw::set_isa(lw::Isa::kBaseline) ||
        lw::active_isa() != lw::Isa::kBaseline)
      r.ok = false;
    for (lw::Isa isa : all)
      if (!lw::cpu_supports(isa) && lw::set_isa(isa)) r.ok = false;
    if (!r.ok) r.first_bad = "set_isa / cpu_supports inconsistent";
    report("set_isa refuses unsupported variants", r, 3);
  }
  check_threadpool();
  for (lw::Isa isa : all) {
    if (!lw::cpu_supports(isa)) {
      std::printf("skip %s (not supported by this CPU)\n", lw::isa_name(isa));
      continue;
    }
    lw::set_isa(isa);
    for (int threads : {1, 2}) {
      lw::set_num_threads(threads);
      check_products(isa, threads);
    }
    check_thread_determinism(isa);
    check_epilogue(isa);
    check_row_chunks(isa);
    check_non_finite_flag(isa);
    check_transposed_product(isa);
    check_transposed_a_in_place(isa);
    if (isa == lw::Isa::kAvx512) check_shallow_bits(isa);
  }
  check_concurrent_callers();
  std::printf("gemm_test: %s (%d failing group%s)\n", g_failures ? "FAILED" : "passed", g_failures,
              g_failures == 1 ? "" : "s");
  return g_failures ? 1 : 0;
}
