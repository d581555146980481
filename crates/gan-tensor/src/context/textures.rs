//! Operand textures: on lavapipe a storage-buffer load becomes a per-lane loop with a
//! bounds check, while a texel fetch is one gather, so the CPU adapter's matmul reads A
//! and B from rgba32float textures (`shaders/matmul_subgroup_tex*.wgsl`), and its Adam
//! step the gradients, parameters and moments (`shaders/optim_vec4.wgsl`). The launcher
//! records a copy of each operand's buffer into one of the textures kept here (one per
//! operand slot, grown to the largest operand seen, so a steady loop creates none), then
//! the dispatch. Commands run in order, so one texture serves every kernel of a batch.
//!
//! Layout: the flat vec4 index i of an operand is texel (i % [`TEXTURE_WIDTH`],
//! i / [`TEXTURE_WIDTH`]); a copy fills whole rows and then the partial last one.

use std::sync::atomic::Ordering;

use super::{Cmd, Context, OperandTexture, OPERAND_SLOTS};
use crate::pool::PoolBuffer;
use crate::{Error, Result};

/// Texels per row of an operand texture (a power of two; the shaders divide by shifting).
pub(crate) const TEXTURE_WIDTH: u64 = 1024;

/// Bytes of one rgba32float texel.
const TEXEL: u64 = 16;

impl Context {
    /// Vec4s an operand texture can hold on this adapter.
    pub(crate) fn max_texture_texels(&self) -> u64 {
        TEXTURE_WIDTH * self.0.limits.max_texture_dimension_2d as u64
    }

    /// Records `l` with its textures 1, 2, ... the operands `ops` (buffer, byte offset, a
    /// multiple of 16, and vec4s; at most [`OPERAND_SLOTS`]), each first copied into its operand
    /// texture (made larger when too small). The textures stay locked until the dispatch
    /// is recorded, so another thread's kernel cannot copy into them in between.
    pub(crate) fn dispatch_with_operands(
        &self,
        l: super::Launch,
        ops: &[(&PoolBuffer, u64, u64)],
    ) -> Result<()> {
        assert!(ops.len() <= OPERAND_SLOTS, "{} operand textures", ops.len());
        let mut slots = self.0.textures.lock().unwrap();
        let mut views = Vec::with_capacity(ops.len());
        for (slot, &(src, offset, texels)) in ops.iter().enumerate() {
            if texels > self.max_texture_texels() || !offset.is_multiple_of(TEXEL) {
                return Err(Error::Invalid {
                    op: "operand texture",
                    msg: format!(
                        "{texels} texels at byte {offset}: at most {} texels, offsets \
                         multiples of 16 bytes",
                        self.max_texture_texels()
                    ),
                });
            }
            let rows = texels.div_ceil(TEXTURE_WIDTH).max(1) as u32;
            if slots[slot].as_ref().is_none_or(|t| t.rows < rows) {
                slots[slot] = Some(self.operand_texture(rows));
            }
            let t = slots[slot].as_ref().expect("made above");
            self.0.pending.lock().unwrap().cmds.push(Cmd::ToTexture {
                src: src.raw().clone(),
                src_offset: offset,
                dst: t.texture.clone(),
                texels,
            });
            views.push(t.view.clone());
        }
        self.dispatch_textured(l, &views)
    }

    /// A texture of at least `rows` rows (the next power of two, within the adapter's
    /// limit).
    fn operand_texture(&self, rows: u32) -> OperandTexture {
        let capacity = rows
            .next_power_of_two()
            .min(self.0.limits.max_texture_dimension_2d);
        let texture = self.0.device.create_texture(&wgpu::TextureDescriptor {
            label: Some("gan-tensor operand"),
            size: wgpu::Extent3d {
                width: TEXTURE_WIDTH as u32,
                height: capacity,
                depth_or_array_layers: 1,
            },
            mip_level_count: 1,
            sample_count: 1,
            dimension: wgpu::TextureDimension::D2,
            format: wgpu::TextureFormat::Rgba32Float,
            usage: wgpu::TextureUsages::TEXTURE_BINDING | wgpu::TextureUsages::COPY_DST,
            view_formats: &[],
        });
        self.0.textures_created.fetch_add(1, Ordering::Relaxed);
        let view = texture.create_view(&wgpu::TextureViewDescriptor::default());
        OperandTexture {
            texture,
            view,
            rows: capacity,
        }
    }
}

/// Encodes a [`Cmd::ToTexture`]: the whole rows, then the partial last row.
pub(super) fn encode_copy(
    encoder: &mut wgpu::CommandEncoder,
    src: &wgpu::Buffer,
    offset: u64,
    dst: &wgpu::Texture,
    texels: u64,
) {
    let (full, rest) = (texels / TEXTURE_WIDTH, texels % TEXTURE_WIDTH);
    let copy = |encoder: &mut wgpu::CommandEncoder, at: u64, row: u64, width: u64, rows: u64| {
        encoder.copy_buffer_to_texture(
            wgpu::TexelCopyBufferInfo {
                buffer: src,
                layout: wgpu::TexelCopyBufferLayout {
                    offset: at,
                    bytes_per_row: Some((TEXTURE_WIDTH * TEXEL) as u32),
                    rows_per_image: None,
                },
            },
            wgpu::TexelCopyTextureInfo {
                texture: dst,
                mip_level: 0,
                origin: wgpu::Origin3d {
                    x: 0,
                    y: row as u32,
                    z: 0,
                },
                aspect: wgpu::TextureAspect::All,
            },
            wgpu::Extent3d {
                width: width as u32,
                height: rows as u32,
                depth_or_array_layers: 1,
            },
        );
    };
    if full > 0 {
        copy(encoder, offset, 0, TEXTURE_WIDTH, full);
    }
    if rest > 0 {
        copy(
            encoder,
            offset + full * TEXTURE_WIDTH * TEXEL,
            full,
            rest,
            1,
        );
    }
}
