use cls_core::path;

type Trailing = path!(user.id.);

fn main() {}
