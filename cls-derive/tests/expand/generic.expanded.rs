#[derive(ClsStore, Clone, Default)]
struct Wrap<T> {
    inner: T,
}
#[allow(non_camel_case_types, non_snake_case)]
const _: () = {
    #[allow(unused_imports)]
    use ::cls_core::__private::{
        CloneKind as _, JsonKind as _, LeafKind as _, NestedKind as _, NoJsonKind as _,
        NoKeyTree as _, NotCloneKind as _, OptionTagKind as _, StoreTagKind as _,
        ValueTagKind as _,
    };
    #[doc(hidden)]
    #[diagnostic::on_unimplemented(
        message = "no field `{Name}` in `Wrap`",
        label = "`Wrap` has no such field (the name is spelled out letter by letter above)",
        note = "the fields of `Wrap` are: `inner`"
    )]
    pub trait ClsFieldOfWrap<Name> {
        type Type: 'static;
        fn field(&self) -> &Self::Type;
        fn field_mut(&mut self) -> &mut Self::Type;
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl<
        T,
    > ClsFieldOfWrap<
        (
            ::cls_core::__private::chars::i,
            ::cls_core::__private::chars::n,
            ::cls_core::__private::chars::n,
            ::cls_core::__private::chars::e,
            ::cls_core::__private::chars::r,
        ),
    > for Wrap<T>
    where
        Wrap<T>: 'static,
    {
        type Type = T;
        #[inline]
        fn field(&self) -> &T {
            &self.inner
        }
        #[inline]
        fn field_mut(&mut self) -> &mut T {
            &mut self.inner
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl<
        T,
        __ClsName,
        __ClsRest,
    > ::cls_core::__private::Resolve<::cls_core::__private::Cons<__ClsName, __ClsRest>>
    for Wrap<T>
    where
        Self: ClsFieldOfWrap<__ClsName>,
        <Self as ClsFieldOfWrap<
            __ClsName,
        >>::Type: ::cls_core::__private::Resolve<__ClsRest>,
    {
        type Value = <<Self as ClsFieldOfWrap<
            __ClsName,
        >>::Type as ::cls_core::__private::Resolve<__ClsRest>>::Value;
        #[inline]
        fn resolve(&self) -> &Self::Value {
            ::cls_core::__private::Resolve::<
                __ClsRest,
            >::resolve(ClsFieldOfWrap::<__ClsName>::field(self))
        }
        #[inline]
        fn resolve_mut(&mut self) -> &mut Self::Value {
            ::cls_core::__private::Resolve::<
                __ClsRest,
            >::resolve_mut(ClsFieldOfWrap::<__ClsName>::field_mut(self))
        }
    }
    #[automatically_derived]
    impl<T> ::cls_core::__private::DynStore for Wrap<T> {
        fn dyn_name(&self) -> &'static str {
            "Wrap"
        }
        fn dyn_field_names(&self) -> &'static [&'static str] {
            &["inner"]
        }
        fn dyn_field(
            &self,
            name: &str,
        ) -> ::core::option::Option<::cls_core::__private::FieldRef<'_>> {
            match name {
                "inner" => {
                    ::core::option::Option::Some(::cls_core::__private::FieldRef {
                        store: (&::cls_core::__private::Probe::<T>::NEW)
                            .field_kind()
                            .as_store(&self.inner),
                        json: (&::cls_core::__private::Probe::<T>::NEW)
                            .json_kind()
                            .as_json(&self.inner),
                        ty: "T",
                        terminal: false,
                        generic: true,
                    })
                }
                _ => ::core::option::Option::None,
            }
        }
        fn dyn_store_mut(
            &mut self,
            name: &str,
        ) -> ::core::option::Option<
            ::core::option::Option<&mut dyn ::cls_core::__private::DynStore>,
        > {
            match name {
                "inner" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<T>::NEW)
                            .field_kind()
                            .as_store_mut(&mut self.inner),
                    )
                }
                _ => ::core::option::Option::None,
            }
        }
        fn dyn_json_mut(
            &mut self,
            name: &str,
        ) -> ::core::option::Option<
            ::core::option::Option<&mut dyn ::cls_core::__private::JsonLeaf>,
        > {
            match name {
                "inner" => {
                    ::core::option::Option::Some(
                        (&::cls_core::__private::Probe::<T>::NEW)
                            .json_kind()
                            .as_json_mut(&mut self.inner),
                    )
                }
                _ => ::core::option::Option::None,
            }
        }
    }
    #[automatically_derived]
    #[diagnostic::do_not_recommend]
    impl<T> ::cls_core::__private::ClsStore for Wrap<T>
    where
        Wrap<
            T,
        >: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
    {
        fn paths() -> &'static [&'static str] {
            ::cls_core::__private::paths_of::<
                Self,
            >(|| {
                ::cls_core::__private::expand_paths(
                    &[
                        (
                            "inner",
                            (&::cls_core::__private::Probe::<T>::NEW)
                                .field_kind()
                                .paths(),
                        ),
                    ],
                )
            })
        }
    }
    #[automatically_derived]
    impl<T> ::cls_core::__private::DerivedStore for Wrap<T>
    where
        Wrap<
            T,
        >: ::core::clone::Clone + ::core::marker::Send + ::core::marker::Sync + 'static,
    {
        #[inline]
        fn __store_name() -> &'static str {
            "Wrap"
        }
        #[inline]
        fn __has_local() -> bool {
            false || (&::cls_core::__private::Probe::<T>::NEW).field_kind().has_local()
        }
        #[inline]
        fn __reset_local(&mut self) {
            (&::cls_core::__private::Probe::<T>::NEW)
                .field_kind()
                .reset_local(&mut self.inner);
        }
        #[inline]
        fn __carry_clone(&self) -> Self {
            if (&::cls_core::__private::Probe::<(T, ())>::NEW).clone_kind().is_clone() {
                Self {
                    inner: (&::cls_core::__private::Probe::<T>::NEW)
                        .field_kind()
                        .carry(
                            &self.inner,
                            |leaf| {
                                (&::cls_core::__private::Probe::<T>::NEW)
                                    .clone_kind()
                                    .clone_leaf(leaf)
                            },
                        ),
                }
            } else {
                ::cls_core::__private::carry_by_clone(self)
            }
        }
        #[inline]
        fn __visit_tagged(
            &self,
            tag: ::cls_core::__private::FieldTag,
            visitor: &mut dyn ::cls_core::__private::TagVisitor,
        ) {
            let _ = (&tag, &visitor);
            (&::cls_core::__private::Probe::<T>::NEW)
                .field_kind()
                .visit_tagged(&self.inner, tag, visitor);
        }
        fn __tagged_keys(
            tag: ::cls_core::__private::FieldTag,
            keys: &mut ::std::vec::Vec<&'static str>,
        ) {
            let _ = (&tag, &keys);
            (&::cls_core::__private::Probe::<T>::NEW)
                .field_kind()
                .tagged_keys(tag, keys);
        }
        const __PROPAGATE_KEYS: &'static ::cls_core::__private::KeyTree = &::cls_core::__private::KeyTree {
            store: "Wrap",
            fields: &[],
            nested: &[("inner", <::cls_core::__private::KeyProbe<T>>::PROPAGATE_KEYS)],
        };
        fn __set_tagged(
            &mut self,
            tag: ::cls_core::__private::FieldTag,
            key: &str,
            value: &str,
        ) -> ::core::result::Result<bool, ::cls_core::__private::SetTaggedError> {
            let _ = (&tag, &key, &value);
            match (&::cls_core::__private::Probe::<T>::NEW)
                .field_kind()
                .set_tagged(&mut self.inner, tag, key, value)
            {
                ::core::result::Result::Ok(false) => {}
                done => return done,
            }
            ::core::result::Result::Ok(false)
        }
    }
};
