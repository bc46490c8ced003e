"""Sizes of the released PureT (imported by the family's class without loading transformers)."""

SWIN_L_384 = dict(
    image_size=384, embed_dim=192, depths=[2, 2, 18, 2], num_heads=[6, 12, 24, 48], window_size=12, drop_path_rate=0.1
)
