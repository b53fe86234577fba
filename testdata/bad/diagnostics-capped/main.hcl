locals {
  v0 = local.missing0
  v1 = local.missing1
  v2 = local.missing2
  v3 = local.missing3
  v4 = local.missing4
  v5 = local.missing5
  v6 = local.missing6
  v7 = local.missing7
  v8 = local.missing8
  v9 = local.missing9
  v10 = local.missing10
  v11 = local.missing11
  v12 = local.missing12
  v13 = local.missing13
  v14 = local.missing14
  v15 = local.missing15
  v16 = local.missing16
  v17 = local.missing17
  v18 = local.missing18
  v19 = local.missing19
  v20 = local.missing20
  v21 = local.missing21
  v22 = local.missing22
  v23 = local.missing23
  v24 = local.missing24
}
