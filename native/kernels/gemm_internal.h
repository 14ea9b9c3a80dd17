// gemm_internal.h — what the sgemm driver (gemm.cc) shares with its
// per-instruction-set macro-kernels (gemm_baseline.cc, gemm_avx2.cc,
// gemm_avx512.cc). Not part of the public API.
//
// The driver packs a KC-deep slice of op(A) into row panels and of op(B) into
// column panels (layouts below), then hands one packed MC×KC block of A and one
// packed KC×NC block of B to a macro-kernel, which walks the MR×NR tiles of C
// and runs its register-blocked micro-kernel on each.
//
// Packed A block (mc × kc): consecutive row panels of MR rows; the panel that
// starts at row ir holds, for p = 0..kc-1, the `mr` values A(ir..ir+mr-1, p)
// contiguously (mr = min(MR, mc - ir)) and begins at pa + ir*kc. The last
// panel is not padded: the macro-kernel runs a micro-kernel compiled for
// exactly `mr` rows instead, so no flops are wasted on padding rows.
//
// Packed B block (kc × nc): consecutive column panels of NR columns; the panel
// that starts at column jr begins at pb + jr*kc and holds, for each p, NR
// values B(p, jr..jr+NR-1), zero-padded past nc. Panels are 64-byte aligned
// when pb is, because NR*4 bytes is a multiple of 64 for every variant.
#pragma once
#include <cstdint>

namespace lw {
namespace gemm_detail {

struct MacroArgs {
  int64_t mc, nc, kc;
  // Packed A block, or with lda > 0 the top-left of the block in A itself:
  // element (r, p) at pa[r·lda + p] (macro_a), or of a stored k×m A (trans_a)
  // at pa[p·lda + r] (macro_at).
  const float* pa;
  const float* pb;  // packed B block
  float* c;         // C(ic, jc): top-left of the mc × nc block
  int64_t ldc;
  float alpha;
  float beta;       // 0 → C is overwritten without being read
  int64_t lda = 0;  // > 0: A read in place (see pa)
  // Non-null on the last k slice when the kernel set applies the epilogue in
  // registers (KernelSet::epilogue_in_kernel): C = act(C + bias[column]),
  // bias pointing at the block's first column. act is an Activation value.
  const float* bias = nullptr;
  int act = 0;
  float act_alpha = 0.0f;
  int* non_finite = nullptr;  // GemmEpilogue::non_finite, with bias
  // KernelSet::narrow only: B read in place (row p at pb + p·ldb), and A in
  // place either as rows (op(A)(r, p) at pa[r·lda + p]) or, with
  // narrow_a_trans, stored k×m (at pa[p·lda + r]).
  int64_t ldb = 0;
  bool narrow_a_trans = false;
};

using MacroKernel = void (*)(const MacroArgs&);

// The whole product for the unpacked direct loop (gemm_direct_inl.h).
struct DirectArgs {
  bool ta, tb;
  int64_t m, n, k;
  float alpha;
  const float* a;
  int64_t lda;
  const float* b;
  int64_t ldb;
  float beta;
  float* c;
  int64_t ldc;
};

// Computes rows [i0, i1) × columns [j0, j1) of C without packing.
using DirectKernel = void (*)(const DirectArgs&, int64_t i0, int64_t i1,
                              int64_t j0, int64_t j1);

// One instruction-set variant: its tile shape, its cache blocking, its
// macro-kernel and its direct loop. MC is a multiple of MR and NC of NR. The
// variants leave mc/kc/nc at 0: gemm.cc derives them from the cache sizes
// read at run time (cpu.h).
struct KernelSet {
  int mr, nr;
  int64_t mc, kc, nc;
  MacroKernel macro;
  DirectKernel direct;
  const char* name;
  // The macro-kernel reading A in place (MacroArgs::lda), or nullptr: for
  // products whose C has few column panels, packing A costs more than its
  // reuse saves (the driver decides, gemm.cc).
  MacroKernel macro_a = nullptr;
  // The macro-kernels honour MacroArgs::bias for these activations (a bit
  // per Activation value); others get the epilogue after each block.
  unsigned epilogue_in_kernel = 0;
  // The macro-kernel for C at most narrow_max_n columns wide with B not
  // transposed, reading both operands in place (MacroArgs::ldb), or nullptr.
  // Packing would pad each row of B to the NR-wide panel (10 → 32 columns
  // for a 10-class output layer) and copy all of A or B for one use.
  MacroKernel narrow = nullptr;
  int64_t narrow_max_n = 0;
  // The kernel for C = alpha·A·Bᵀ + beta·C with a depth of at most
  // shallow_max_k (a dense layer's input gradient ∂E/∂Y·Wᵀ with 10 classes),
  // both operands read in place (MacroArgs::lda, ldb; pb points at B's row of
  // the block's first column), no epilogue, or nullptr. Packing Bᵀ copied the
  // whole weight matrix, 16 floats per k step, for a product of as many flops.
  MacroKernel shallow = nullptr;
  int64_t shallow_max_k = 0;
  // macro_a for a transposed A (a weight update Xᵀ·∂E/∂Y, X stored samples ×
  // features): the MR values a k step needs are contiguous in X's row p, so
  // nothing has to be packed, and a split by C's columns costs no extra copy
  // of A (gemm.cc, choose_task_grid).
  MacroKernel macro_at = nullptr;
};

// Defined in gemm_baseline.cc / gemm_avx2.cc / gemm_avx512.cc. The AVX ones
// return nullptr when the compiler cannot target that ISA (non-x86 builds).
const KernelSet* kernels_baseline();
const KernelSet* kernels_avx2();
const KernelSet* kernels_avx512();

}  // namespace gemm_detail
}  // namespace lw
