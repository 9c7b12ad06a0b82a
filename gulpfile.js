// Copies what tsc does not emit into dist/: node and credential icons, the workflow templates
// (users import them from the installed package), and the SQL migrations (the credential test
// compares them with the database's migration ledger).
const { src, dest, parallel } = require('gulp');

const icons = () => src(['nodes/**/*.{png,svg}', 'nodes/**/*.node.json', 'credentials/**/*.{png,svg}'], { base: '.' }).pipe(dest('dist'));
const workflows = () => src('workflows/**/*.json', { base: '.', allowEmpty: true }).pipe(dest('dist'));
const migrations = () => src('migrations/**/*.sql', { base: '.' }).pipe(dest('dist'));

exports.build = parallel(icons, workflows, migrations);
exports.default = exports.build;
