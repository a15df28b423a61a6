use cls_core::path;

type Index = path!(user.0);

fn main() {}
