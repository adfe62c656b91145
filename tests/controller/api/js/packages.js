// The openwhisk npm client: a package with an action, a binding with its own parameters, an
// invoke through the binding, the package read back, namespaces.get. Prints one JSON line.
const openwhisk = require('openwhisk')

async function main () {
  const ow = openwhisk({ apihost: process.env.APIHOST, api_key: process.env.AUTH })
  const created = await ow.packages.create({
    name: 'js-pkg',
    package: { parameters: [{ key: 'greeting', value: 'hello' }, { key: 'who', value: 'pkg' }] }
  })
  await ow.actions.create({
    name: 'js-pkg/greet',
    kind: 'python:3',
    action: "def main(args):\n    return {'text': args['greeting'] + ' ' + args['who']}\n"
  })
  const binding = await ow.packages.create({
    name: 'js-bind', package: { binding: { namespace: '_', name: 'js-pkg' },
      parameters: [{ key: 'who', value: 'binding' }] }
  })
  const viaPackage = await ow.actions.invoke({ name: 'js-pkg/greet', blocking: true, result: true })
  const viaBinding = await ow.actions.invoke({ name: 'js-bind/greet', blocking: true, result: true })
  const overridden = await ow.actions.invoke({
    name: 'js-bind/greet', blocking: true, result: true, params: { greeting: 'bye' }
  })
  const got = await ow.packages.get({ name: 'js-pkg' })
  const listed = await ow.packages.list()
  const namespace = await ow.namespaces.get()
  let notEmpty = null
  try {
    await ow.packages.delete({ name: 'js-pkg' })
  } catch (err) {
    notEmpty = { statusCode: err.statusCode, message: err.message }
  }
  await ow.packages.delete({ name: 'js-bind' })
  console.log(JSON.stringify({
    created, binding, viaPackage, viaBinding, overridden, got, listed, namespace, notEmpty
  }))
}

main().catch(err => { console.error(err); process.exit(1) })
