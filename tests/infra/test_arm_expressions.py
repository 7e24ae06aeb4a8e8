"""The offline ARM expression evaluator the template helpers rely on."""

from __future__ import annotations

import pytest

from tests.infra.arm_expressions import Context, ExpressionError, evaluate

TEMPLATE = {
    "parameters": {
        "name": {"type": "string", "defaultValue": "app"},
        "ids": {"type": "array", "defaultValue": ["a", "b"]},
        "flag": {"type": "bool", "defaultValue": False},
        "required": {"type": "string"},
    },
    "variables": {
        "greeting": "[format('{0}-{1}', parameters('name'), 'x')]",
        "list": ["[parameters('name')]", "literal"],
        "obj": {"inner": {"Value": 3}},
        "copy": [
            {
                "name": "scopes",
                "count": "[length(parameters('ids'))]",
                "input": "[concat('/s/', parameters('ids')[copyIndex('scopes')])]",
            }
        ],
    },
}


def ev(expression, **parameters):
    return evaluate(expression, Context(TEMPLATE, parameters, subscription_id="sub1", resource_group="rg1"))


@pytest.mark.parametrize(
    ("expression", "expected"),
    [
        ("plain text", "plain text"),
        ("[[not an expression]", "[not an expression]"),
        ("['it''s']", "it's"),
        ("[parameters('name')]", "app"),
        ("[variables('greeting')]", "app-x"),
        ("[variables('list')]", ["app", "literal"]),
        ("[variables('obj').inner.value]", 3),  # property access ignores case, as in ARM
        ("[variables('scopes')]", ["/s/a", "/s/b"]),
        ("[if(parameters('flag'), 'yes', 'no')]", "no"),
        ("[string(true())]", "True"),
        ("[string(42)]", "42"),
        ("[concat(createArray(1), createArray(2, 3))]", [1, 2, 3]),
        ("[union(createArray('a', 'b'), createArray('b', 'c'))]", ["a", "b", "c"]),
        ("[split('/subscriptions/s/resourceGroups/g', '/')[4]]", "g"),
        ("[equals(toLower('AbC'), 'abc')]", True),
        ("[subscription().id]", "/subscriptions/sub1"),
        ("[resourceGroup().name]", "rg1"),
        (
            "[resourceId('Microsoft.Web/sites', 'app')]",
            "/subscriptions/sub1/resourceGroups/rg1/providers/Microsoft.Web/sites/app",
        ),
        (
            "[resourceId('other', 'rg2', 'Microsoft.Storage/storageAccounts/blobServices', 'sa', 'default')]",
            "/subscriptions/other/resourceGroups/rg2/providers/Microsoft.Storage/storageAccounts/sa/blobServices/default",
        ),
        (
            "[subscriptionResourceId('Microsoft.Authorization/roleDefinitions', 'r')]",
            "/subscriptions/sub1/providers/Microsoft.Authorization/roleDefinitions/r",
        ),
        ("[environment().name]", "AzureCloud"),
        ("[guid('a', 'b')]", evaluate("[guid('a', 'b')]", Context(TEMPLATE))),
    ],
)
def test_evaluates(expression, expected):
    assert ev(expression) == expected


def test_given_parameters_win_over_defaults():
    assert ev("[parameters('name')]", name="other") == "other"


def test_object_keys_are_evaluated_too():
    assert ev({"[parameters('name')]": {"k": "[parameters('ids')]"}}) == {"app": {"k": ["a", "b"]}}


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("[reference('x', '2024-01-01').id]", "reference() cannot be evaluated offline"),
        ("[uniqueString(resourceGroup().id)]", "uniqueString() cannot be evaluated offline"),
        ("[parameters('required')]", "parameter 'required' has no value and no default"),
        ("[parameters('nope')]", "parameter 'nope' is not declared"),
        ("[variables('nope')]", "variable 'nope' is not declared"),
        ("[copyIndex()]", "copyIndex('') outside its copy loop"),
        ("[concat('a', ]", "unexpected end of \"concat('a', \""),
        ("[concat('a' 'b')]", "expected ',', got \"'b'\" in \"concat('a' 'b')\""),
    ],
)
def test_refuses_what_it_cannot_know(expression, message):
    with pytest.raises(ExpressionError) as caught:
        ev(expression)
    assert str(caught.value) == message
