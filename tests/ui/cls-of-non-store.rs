use cls_core::Cls;

#[derive(Clone, Default)]
struct NotAStore {
    id: u64,
}

const CLS: Cls<NotAStore> = Cls::new();

fn main() {
    let _ = CLS;
}
