// gather.h — copying a training batch's samples out of a data set.
#pragma once
#include <cstdint>

namespace lw {

// dst row i = src row index[i] for i < count, rows of row_size floats; src
// holds src_rows rows. Each index is read once for its copy and checked before
// use (the array may be shared with another thread; a prefetch hint reads it
// again, also checked, and touches nothing); returns the position of the first
// index outside [0, src_rows), whose destination row and those of any later
// bad indices are left untouched, or −1 when every index was in range.
//
// next[0, next_count) names rows a later call will copy (fit's next batch):
// they are only asked for, after the copy, so their memory latency overlaps
// the work in between; an index out of range there is skipped, not reported.
int64_t gather_rows(const float* src, int64_t src_rows, int64_t row_size,
                    const int32_t* index, int64_t count, float* dst,
                    const int32_t* next = nullptr, int64_t next_count = 0);

}  // namespace lw
