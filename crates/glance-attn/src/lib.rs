//! Attention kernels for glance: the exact local patterns (sliding, dilated, block-wise,
//! global tokens) as tiled online-softmax kernels over `[heads, n, d_head]` f32 arrays.
//! Kernels know nothing of DNA.
