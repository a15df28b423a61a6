use cls_core::path;

type Twice = path!(user..id);

fn main() {}
