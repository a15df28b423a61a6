use cls_core::path;

type Empty = path!();

fn main() {}
