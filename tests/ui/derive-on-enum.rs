use cls_core::ClsStore;

#[derive(ClsStore, Clone)]
enum Store {
    A,
    B,
}

fn main() {}
