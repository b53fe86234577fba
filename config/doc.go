// Package config loads a directory of HCL files into a spec.Config. No LXD calls.
package config

import (
	_ "github.com/hashicorp/go-cty-funcs/cidr"
	_ "github.com/hashicorp/hcl/v2/hclwrite"
	_ "github.com/zclconf/go-cty/cty/function/stdlib"
)
